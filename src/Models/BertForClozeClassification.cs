using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models;

/// <summary>
/// Prompt-based (cloze) classification, as PET and LM-BFF do it: the input holds a template with one
/// mask token ("... It was [MASK]."), and the masked-LM head's logits at that position, read at each
/// class's verbalizer words ("great", "terrible"), are the class logits (the mean over a class's words).
/// No new weights: with a pretrained masked-LM it classifies before any labelled example (zero-shot),
/// and fine-tuning trains the same head it was pretrained with. Weights are named as
/// <see cref="BertForPreTraining"/>'s, so a pretrained model's copy over by name.
/// </summary>
public sealed class BertForClozeClassification : nn.Module, ISequenceClassifier
{
    private readonly BertModel bert;
    private readonly BertPreTrainingHeads cls;
    private readonly int[] _wordIds;
    private readonly float[] _average;

    /// <summary>
    /// A cloze classifier reading the position of <paramref name="maskId"/> and, for each class,
    /// the vocabulary ids in <paramref name="classWords"/> (one or more each).
    /// </summary>
    public BertForClozeClassification(TransformerConfig config, int maskId, IReadOnlyList<int[]> classWords) : base(nameof(BertForClozeClassification))
    {
        if (classWords.Count < 2) throw new ArgumentException("A classifier needs at least two classes.", nameof(classWords));
        if (classWords.Any(w => w.Length == 0)) throw new ArgumentException("Every class needs at least one verbalizer word.", nameof(classWords));
        if (classWords.SelectMany(w => w).Any(id => id < 0 || id >= config.VocabSize))
            throw new ArgumentOutOfRangeException(nameof(classWords), $"Verbalizer ids must be in [0, {config.VocabSize}).");
        if (maskId < 0 || maskId >= config.VocabSize) throw new ArgumentOutOfRangeException(nameof(maskId), maskId, $"The mask id must be in [0, {config.VocabSize}).");
        bert = new BertModel(config);
        cls = new BertPreTrainingHeads(config, sentencePair: false);
        RegisterComponents();
        WeightInit.Normal(this, config.InitRange);
        MaskId = maskId;
        ClassWords = classWords.Select(w => w.ToArray()).ToArray();
        _wordIds = ClassWords.SelectMany(w => w).ToArray();
        // (W, C): column c averages class c's words.
        _average = new float[_wordIds.Length * ClassWords.Count];
        for (int c = 0, w = 0; c < ClassWords.Count; c++)
            foreach (var _ in ClassWords[c]) _average[w++ * ClassWords.Count + c] = 1f / ClassWords[c].Length;
    }

    /// <summary>The encoder.</summary>
    public BertModel Bert => bert;
    /// <summary>Number of classes.</summary>
    public long Labels => ClassWords.Count;
    /// <summary>The token whose position is classified.</summary>
    public int MaskId { get; }
    /// <summary>Each class's verbalizer token ids.</summary>
    public IReadOnlyList<int[]> ClassWords { get; }

    /// <summary>
    /// Class logits (B, Labels): the masked-LM logits at each row's first mask token, averaged over each
    /// class's words. Callers put the mask in every row (a row without one would be read at position 0).
    /// </summary>
    public Tensor Forward(Tensor ids, Tensor? attentionMask = null, Tensor? segments = null)
    {
        var hidden = bert.Forward(ids, attentionMask, segments);                              // (B, T, C)
        using var isMask = ids.eq(MaskId);
        var position = isMask.to(ScalarType.Int64).argmax(1);                                 // (B): the first mask
        var at = hidden.gather(1, position.view(-1, 1, 1).expand(-1, 1, hidden.shape[2])).squeeze(1); // (B, C)
        var vocabulary = cls.Predictions.forward(at, bert.WordEmbeddings.weight!);           // (B, V)
        var (wordIds, average) = Verbalizer(ids.device);
        var words = vocabulary.index_select(1, wordIds);                                      // (B, W)
        return words.matmul(average.dtype == words.dtype ? average : average.to(words.dtype));
    }

    private (Device Device, Tensor WordIds, Tensor Average)? _onDevice;

    // The verbalizer's ids (W) and averaging matrix (W, C) on the input's device, copied there once, not every forward.
    private (Tensor WordIds, Tensor Average) Verbalizer(Device device)
    {
        if (_onDevice is { } cached && cached.Device.type == device.type && cached.Device.index == device.index) return (cached.WordIds, cached.Average);
        ReleaseVerbalizer();
        var wordIds = tensor(_wordIds.Select(i => (long)i).ToArray(), device: device).DetachFromDisposeScope();
        var average = tensor(_average, [_wordIds.Length, ClassWords.Count], device: device).DetachFromDisposeScope();
        _onDevice = (device, wordIds, average);
        return (wordIds, average);
    }

    private void ReleaseVerbalizer()
    {
        _onDevice?.WordIds.Dispose();
        _onDevice?.Average.Dispose();
        _onDevice = null;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) ReleaseVerbalizer();
        base.Dispose(disposing);
    }
}
