using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines.Models.Training;

/// <summary>
/// The joint objective of fine-tuning: task loss + weight x masked-LM loss on the same batch, the
/// batch's rows masked afresh and encoded a second time. The masked-LM head is the pretrained one,
/// frozen: it reads the encoder as pretraining left it, so its loss grows as fine-tuning moves the
/// encoder away from what it learned from unlabelled text (a functional counterpart of L2-SP). Its
/// decoder is the encoder's own word embedding table, as in pretraining.
/// </summary>
public sealed class JointMaskedLm : IDisposable
{
    private readonly BertLmPredictionHead _head;
    private readonly TokenMasking _masking;

    /// <summary>
    /// A joint objective of <paramref name="weight"/> with a frozen copy of <paramref name="pretrainedHead"/>
    /// on <paramref name="device"/>, masking rows with <paramref name="masking"/>.
    /// </summary>
    public JointMaskedLm(BertLmPredictionHead pretrainedHead, TransformerConfig config, TokenMasking masking, double weight, Device device)
    {
        Weight = weight > 0 && double.IsFinite(weight) ? weight
            : throw new ArgumentOutOfRangeException(nameof(weight), weight, "The masked-LM weight must be a positive finite number.");
        _head = new BertLmPredictionHead(config);
        WeightTransfer.CopyMatching(pretrainedHead, _head);
        _head.to(device);
        foreach (var parameter in _head.parameters()) parameter.requires_grad = false;
        _head.eval();
        _masking = masking;
    }

    /// <summary>Lambda: the masked-LM loss's weight beside the task's.</summary>
    public double Weight { get; }

    /// <summary>
    /// <paramref name="taskLoss"/> + Weight x the masked-LM loss of <paramref name="rows"/> (cut to
    /// <paramref name="maxLength"/>) through <paramref name="encoder"/>; the task loss alone when no token was masked.
    /// </summary>
    public Tensor AddTo(Tensor taskLoss, BertModel encoder, IReadOnlyList<int[]> rows, int padId, int maxLength, Random random)
    {
        var masked = rows.Select(r => _masking(r.Length > maxLength ? r[..maxLength] : r, null, random)).ToList();
        if (!masked.Any(m => m.Labels.Any(l => l != Heads.IgnoreIndex))) return taskLoss;   // checked on the host: no device sync
        var (ids, mask) = Batching.Pad(masked.Select(m => m.Inputs).ToList(), padId, maxLength, taskLoss.device);
        var targets = Batching.PadLabels(masked.Select(m => m.Labels).ToList(), ids.shape[1], taskLoss.device);
        var selected = targets.ne(Heads.IgnoreIndex);                                         // (B, T)
        var hidden = encoder.Forward(ids, mask)[selected];                                    // (N, C)
        var logits = _head.forward(hidden, encoder.WordEmbeddings.weight!);                   // (N, V)
        return taskLoss + Weight * F.cross_entropy(logits.to(ScalarType.Float32), targets[selected]);
    }

    /// <inheritdoc/>
    public void Dispose() => _head.Dispose();
}
