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

    /// <summary>
    /// Creates the task. <paramref name="l2sp"/> is lambda of L2-SP (0: off); <paramref name="adversarialEpsilon"/>
    /// the size of FGM's perturbation of the word embeddings (0: off, see <see cref="AdversarialEmbeddings"/>).
    /// </summary>
    public TokenClassificationTask(BertForTokenClassification model, IReadOnlyList<TaggedSequence> train,
        IReadOnlyList<TaggedSequence> validation, int padId, int maxLength, int batchSize, int seed,
        float[]? tagWeights = null, double l2sp = 0, double adversarialEpsilon = 0)
    {
        _adversarial = new AdversarialEmbeddings(model.Bert.WordEmbeddings.weight!, adversarialEpsilon);
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
        foreach (var chunk in _validation.Chunk(_batches.BatchSize))
        {
            using var scope = NewDisposeScope();
            var (logits, labels, _) = Forward(chunk);
            var counted = labels.ne(Heads.IgnoreIndex);
            var n = counted.sum().item<long>();
            if (n == 0) continue;
            loss += BertForTokenClassification.Loss(logits, labels, _tagWeights).item<float>() * n;
            correct += logits.argmax(-1).eq(labels).logical_and(counted).sum().item<long>();
            labelled += n;
        }
        return labelled == 0 ? null : new ValidationResult(step, loss / labelled, correct / labelled);
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
