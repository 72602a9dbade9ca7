using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// Masks tokens of one sequence for masked-LM training: returns the corrupted input ids and the
/// labels (the original id where a prediction is wanted, <see cref="Heads.IgnoreIndex"/> elsewhere).
/// </summary>
public delegate (int[] Inputs, int[] Labels) TokenMasking(int[] ids, Random random);

/// <summary>
/// Masked-LM pretraining on tokenized sequences (each with its special tokens). Every micro-batch
/// draws <see cref="BatchSize"/> random sequences and masks them afresh (dynamic masking: a
/// sequence gets a new mask each time it is seen). Validation masks the held-out sequences with a
/// fixed seed, so validations are comparable, and reports loss and masked-token accuracy.
/// </summary>
public sealed class MaskedLanguageModelingTask : ITrainingTask
{
    private readonly BertForPreTraining _model;
    private readonly IReadOnlyList<int[]> _train;
    private readonly IReadOnlyList<int[]> _validation;
    private readonly TokenMasking _masking;
    private readonly Device _device;

    /// <summary>Creates the task; sequences longer than <paramref name="maxLength"/> are cut.</summary>
    public MaskedLanguageModelingTask(BertForPreTraining model, IReadOnlyList<int[]> train, IReadOnlyList<int[]> validation,
        TokenMasking masking, int padId, int maxLength, int batchSize, int validationSeed = 12345)
    {
        if (train.Count == 0) throw new ArgumentException("There are no training sequences.", nameof(train));
        (_model, _train, _validation, _masking) = (model, train, validation, masking);
        (PadId, MaxLength, BatchSize, ValidationSeed) = (padId, maxLength, batchSize, validationSeed);
        _device = model.parameters().First().device;
    }

    /// <summary>Padding id (never masked, ignored by attention).</summary>
    public int PadId { get; }
    /// <summary>Longest sequence fed to the model.</summary>
    public int MaxLength { get; }
    /// <summary>Sequences per micro-batch.</summary>
    public int BatchSize { get; }
    /// <summary>Seed of the validation masks.</summary>
    public int ValidationSeed { get; }

    /// <inheritdoc/>
    public nn.Module Model => _model;
    /// <inheritdoc/>
    public long TrainingExamples => _train.Count;

    /// <inheritdoc/>
    public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
    {
        var rows = Enumerable.Range(0, BatchSize).Select(_ => Cut(_train[random.Next(_train.Count)])).ToList();
        var (loss, _, tokens) = Forward(rows, random);
        return (loss, rows.Count, tokens);
    }

    /// <inheritdoc/>
    public ValidationResult? Validate(int step)
    {
        if (_validation.Count == 0) return null;
        using var _ = no_grad();
        _model.eval();
        var random = new Random(ValidationSeed);
        double lossSum = 0, correct = 0, predicted = 0;
        foreach (var chunk in _validation.Select(Cut).Chunk(BatchSize))
        {
            using var scope = NewDisposeScope();
            var (loss, hits, _) = Forward(chunk, random);
            var count = hits.Count;
            if (count == 0) continue;
            lossSum += loss.item<float>() * count;
            correct += hits.Correct;
            predicted += count;
        }
        return predicted == 0 ? null : new ValidationResult(step, lossSum / predicted, correct / predicted);
    }

    private int[] Cut(int[] row) => row.Length <= MaxLength ? row : row[..MaxLength];

    // Masks the rows, runs the model, and returns the loss, the masked-token hits and the token count.
    private (Tensor Loss, (int Correct, int Count) Hits, long Tokens) Forward(IReadOnlyList<int[]> rows, Random random)
    {
        var masked = rows.Select(r => _masking(r, random)).ToList();
        var (ids, mask) = Batching.Pad(masked.Select(m => m.Inputs).ToList(), PadId, MaxLength, _device);
        var labels = Batching.PadLabels(masked.Select(m => m.Labels).ToList(), ids.shape[1], _device);
        var tokens = mask.sum().item<long>();
        if (!labels.ne(Heads.IgnoreIndex).any().item<bool>())
            return (_model.Forward(ids, mask).TokenLogits.sum() * 0, (0, 0), tokens);   // nothing masked: zero loss, not NaN
        var (logits, targets) = _model.PredictMasked(ids, labels, mask);                     // (N, V), (N)
        var loss = nn.functional.cross_entropy(logits, targets);
        var (correct, count) = (0, 0);
        if (!_model.training)
        {
            count = (int)targets.shape[0];
            correct = (int)logits.argmax(-1).eq(targets).sum().item<long>();
        }
        return (loss, (correct, count), tokens);
    }
}
