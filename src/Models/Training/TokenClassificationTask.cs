using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// One tagged sequence: token ids and one label per token, <see cref="Heads.IgnoreIndex"/> where
/// the loss must skip the token (special tokens, and the second and later pieces of a word).
/// </summary>
public sealed record TaggedSequence(int[] Ids, int[] Labels);

/// <summary>
/// Fine-tuning of <see cref="BertForTokenClassification"/> (NER and other taggers): epochs over
/// the training rows in a seeded order, token-level cross-entropy over the labelled positions with
/// optional tag weights, optional L2-SP. Validation reports loss and the accuracy of labelled positions.
/// </summary>
public sealed class TokenClassificationTask : ITrainingTask, IDisposable
{
    private readonly BertForTokenClassification _model;
    private readonly IReadOnlyList<TaggedSequence> _train;
    private readonly IReadOnlyList<TaggedSequence> _validation;
    private readonly Tensor? _tagWeights;
    private readonly L2SPPenalty _l2sp;
    private readonly AdversarialEmbeddings _adversarial;
    private readonly EpochBatches _batches;
    private readonly Device _device;
    private readonly int _padId;
    private readonly int _maxLength;
    private readonly Func<IReadOnlyList<(int[] Gold, int[] Predicted)>, double>? _entityF1;

    /// <summary>
    /// Creates the task. <paramref name="l2sp"/> is lambda of L2-SP (0: off); <paramref name="adversarial"/>
    /// how FGM or PGD perturbs the word embeddings (null: not at all, see <see cref="AdversarialEmbeddings"/>);
    /// <paramref name="entityF1"/> scores each validation row's gold and predicted tag ids (at the labelled
    /// positions) as validation's F1, e.g. entity-level F1 by the tags' names.
    /// </summary>
    public TokenClassificationTask(BertForTokenClassification model, IReadOnlyList<TaggedSequence> train,
        IReadOnlyList<TaggedSequence> validation, int padId, int maxLength, int batchSize, int seed,
        float[]? tagWeights = null, double l2sp = 0, AdversarialSettings? adversarial = null,
        Func<IReadOnlyList<(int[] Gold, int[] Predicted)>, double>? entityF1 = null)
    {
        _entityF1 = entityF1;
        _adversarial = (adversarial ?? AdversarialSettings.None).For(model.Bert.WordEmbeddings.weight!);
        if (train.Count == 0) throw new ArgumentException("There are no training rows.", nameof(train));
        (_model, _train, _validation, _padId, _maxLength) = (model, train, validation, padId, maxLength);
        _batches = new EpochBatches(train.Count, batchSize, seed);
        _device = model.parameters().First().device;
        if (tagWeights is not null) _tagWeights = tensor(tagWeights).to(_device).DetachFromDisposeScope();
        _l2sp = new L2SPPenalty(model, l2sp);
    }

    /// <summary>Micro-batches per epoch.</summary>
    public int BatchesPerEpoch => _batches.PerEpoch;

    /// <inheritdoc/>
    public nn.Module Model => _model;
    /// <inheritdoc/>
    public long TrainingExamples => _train.Count;

    /// <inheritdoc/>
    public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
    {
        var rows = _batches.Draw(draw).Select(i => _train[i]).ToList();
        var (logits, labels, tokens) = Forward(rows);
        var loss = _adversarial.AddTo(BertForTokenClassification.Loss(logits, labels, _tagWeights),
            () => BertForTokenClassification.Loss(Forward(rows).Logits, labels, _tagWeights));
        return (_l2sp.AddTo(loss), rows.Count, tokens);
    }

    /// <inheritdoc/>
    public ValidationResult? Validate(int step)
    {
        if (_validation.Count == 0) return null;
        using var _ = no_grad();
        _model.eval();
        double loss = 0, correct = 0, labelled = 0;
        var rows = new List<(int[] Gold, int[] Predicted)>();
        foreach (var chunk in _validation.Chunk(_batches.BatchSize))
        {
            using var scope = NewDisposeScope();
            var (logits, labels, _) = Forward(chunk);
            var counted = labels.ne(Heads.IgnoreIndex);
            var n = counted.sum().item<long>();
            if (n == 0) continue;
            loss += BertForTokenClassification.Loss(logits, labels, _tagWeights).item<float>() * n;
            var predicted = logits.argmax(-1);
            correct += predicted.eq(labels).logical_and(counted).sum().item<long>();
            labelled += n;
            if (_entityF1 is not null) rows.AddRange(LabelledTags(chunk, predicted));
        }
        if (labelled == 0) return null;
        return new ValidationResult(step, loss / labelled, correct / labelled, F1: _entityF1?.Invoke(rows));
    }

    // Each row's gold and predicted tag ids at its labelled positions (those the model saw).
    private static IEnumerable<(int[] Gold, int[] Predicted)> LabelledTags(IReadOnlyList<TaggedSequence> rows, Tensor predicted)
    {
        var width = (int)predicted.shape[1];
        var flat = predicted.cpu().data<long>().ToArray();
        for (var r = 0; r < rows.Count; r++)
        {
            var positions = Enumerable.Range(0, Math.Min(width, rows[r].Labels.Length)).Where(t => rows[r].Labels[t] != Heads.IgnoreIndex).ToArray();
            yield return (positions.Select(t => rows[r].Labels[t]).ToArray(), positions.Select(t => (int)flat[r * width + t]).ToArray());
        }
    }

    private (Tensor Logits, Tensor Labels, long Tokens) Forward(IReadOnlyList<TaggedSequence> rows)
    {
        var (ids, mask) = Batching.Pad(rows.Select(r => r.Ids).ToList(), _padId, _maxLength, _device);
        var labels = Batching.PadLabels(rows.Select(r => r.Labels).ToList(), ids.shape[1], _device);
        return (_model.Forward(ids, mask), labels, ids.shape[0] * ids.shape[1]);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _tagWeights?.Dispose();
        _l2sp.Dispose();
    }
}
