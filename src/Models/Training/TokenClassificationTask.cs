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
/// optional tag weights (or, when the model has a CRF, the CRF's negative log-likelihood of each
/// row's labelled positions as one sequence), optional L2-SP and adversarial training. Validation
/// reports loss and the accuracy of labelled positions (CRF: of its Viterbi path), and entity F1 when given.
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
        TokenIds.CheckRows(train.Select(r => r.Ids), model.Bert.Config.VocabSize);
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
        var loss = _adversarial.AddTo(Loss(rows, logits, labels), () => Loss(rows, Forward(rows).Logits, labels));
        return (_l2sp.AddTo(loss), rows.Count, tokens);
    }

    /// <inheritdoc/>
    public ValidationResult? Validate(int step)
    {
        if (_validation.Count == 0) return null;
        using var _ = no_grad();
        _model.eval();
        double loss = 0, lossWeight = 0, correct = 0, labelled = 0;
        var rows = new List<(int[] Gold, int[] Predicted)>();
        foreach (var chunk in _validation.Chunk(_batches.BatchSize))
        {
            using var scope = NewDisposeScope();
            var (logits, labels, _) = Forward(chunk);
            var tags = LabelledTags(chunk, logits).ToList();
            var n = tags.Sum(r => r.Gold.Length);
            if (n == 0) continue;
            // The loss is a mean per labelled word (cross-entropy) or per sentence with a labelled word (the CRF's likelihood of a whole sequence).
            var weight = _model.Crf is null ? n : tags.Count(r => r.Gold.Length > 0);
            loss += Loss(chunk, logits, labels).item<float>() * weight;
            lossWeight += weight;
            correct += tags.Sum(r => r.Gold.Zip(r.Predicted).Count(p => p.First == p.Second));
            labelled += n;
            if (_entityF1 is not null) rows.AddRange(tags);
        }
        if (labelled == 0) return null;
        return new ValidationResult(step, loss / lossWeight, correct / labelled, F1: _entityF1?.Invoke(rows));
    }

    // Each row's gold and predicted tag ids at its labelled positions (those the model saw): the best
    // tag of each position, or the CRF's best path through them.
    private IEnumerable<(int[] Gold, int[] Predicted)> LabelledTags(IReadOnlyList<TaggedSequence> rows, Tensor logits)
    {
        var (width, k) = ((int)logits.shape[1], (int)logits.shape[2]);
        var flat = logits.to(ScalarType.Float32).cpu().data<float>().ToArray();
        var decode = _model.Crf?.Decoder() ?? (scores => scores.Select(s => Array.IndexOf(s, s.Max())).ToArray());
        for (var r = 0; r < rows.Count; r++)
        {
            var positions = Positions(rows[r], width);
            var scores = positions.Select(t => flat.AsSpan((r * width + t) * k, k).ToArray()).ToList();
            var predicted = decode(scores);
            yield return (positions.Select(t => rows[r].Labels[t]).ToArray(), predicted);
        }
    }

    // The positions of a row's labels within the first width tokens.
    private static int[] Positions(TaggedSequence row, int width) =>
        Enumerable.Range(0, Math.Min(width, row.Labels.Length)).Where(t => row.Labels[t] != Heads.IgnoreIndex).ToArray();

    // Cross-entropy over the labelled tokens; with a CRF, its negative log-likelihood of each row's labelled positions as one sequence.
    private Tensor Loss(IReadOnlyList<TaggedSequence> rows, Tensor logits, Tensor labels)
    {
        if (_model.Crf is not ConditionalRandomField crf) return BertForTokenClassification.Loss(logits, labels, _tagWeights);
        var width = (int)logits.shape[1];
        var positions = rows.Select(r => Positions(r, width)).ToList();
        var kept = Enumerable.Range(0, rows.Count).Where(i => positions[i].Length > 0).Select(i => (long)i).ToArray();     // rows with a labelled word
        if (kept.Length == 0) return logits.sum() * 0;
        var longest = kept.Max(i => positions[(int)i].Length);
        var (index, gold, mask) = (new long[kept.Length * longest], new long[kept.Length * longest], new bool[kept.Length * longest]);
        for (var b = 0; b < kept.Length; b++)
        {
            var words = positions[(int)kept[b]];
            for (var w = 0; w < words.Length; w++)
                (index[b * longest + w], gold[b * longest + w], mask[b * longest + w]) = (words[w], rows[(int)kept[b]].Labels[words[w]], true);
        }
        var selected = logits.index_select(0, tensor(kept, device: _device));                                          // (B', T, K)
        var at = tensor(index, [kept.Length, longest], device: _device).unsqueeze(2).expand(-1, -1, logits.shape[2]);
        return crf.NegativeLogLikelihood(selected.gather(1, at), tensor(gold, [kept.Length, longest], device: _device),
            tensor(mask, [kept.Length, longest], device: _device));
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
