using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines.Models.Training;

/// <summary>One labelled sequence: token ids, optional segment ids (sentence pairs), and a class index.</summary>
public sealed record LabelledSequence(int[] Ids, int[]? Segments, int Label);

/// <summary>
/// Fine-tuning of a sequence classifier (<see cref="BertForSequenceClassification"/>, <see cref="BertForClozeClassification"/>): epochs over the training rows in a
/// seeded order (each epoch reshuffled), cross-entropy with optional class weights, and optional
/// L2-SP regularisation (<see cref="L2SPPenalty"/>), adversarial training (<see cref="AdversarialEmbeddings"/>)
/// and a joint masked-LM loss (<see cref="JointMaskedLm"/>). Validation reports loss, accuracy and F1 (the
/// positive class's for two classes, macro for more), and AUC for two classes.
/// </summary>
public sealed class SequenceClassificationTask : ITrainingTask, IDisposable
{
    private readonly ISequenceClassifier _model;
    private readonly nn.Module _module;
    private readonly IReadOnlyList<LabelledSequence> _train;
    private readonly IReadOnlyList<LabelledSequence> _validation;
    private readonly Tensor? _classWeights;
    private readonly L2SPPenalty _l2sp;
    private readonly AdversarialEmbeddings _adversarial;
    private readonly JointMaskedLm? _joint;
    private readonly EpochBatches _batches;
    private readonly Device _device;

    /// <summary>
    /// Creates the task. <paramref name="l2sp"/> is lambda of L2-SP (0: off); <paramref name="adversarial"/>
    /// how FGM or PGD perturbs the word embeddings (null: not at all, see <see cref="AdversarialEmbeddings"/>);
    /// <paramref name="jointMaskedLm"/> adds a masked-LM loss on each batch (null: none; the task does not dispose it).
    /// </summary>
    public SequenceClassificationTask(ISequenceClassifier model, IReadOnlyList<LabelledSequence> train,
        IReadOnlyList<LabelledSequence> validation, int padId, int maxLength, int batchSize, int seed,
        float[]? classWeights = null, double l2sp = 0, AdversarialSettings? adversarial = null, JointMaskedLm? jointMaskedLm = null)
    {
        _joint = jointMaskedLm;
        _adversarial = (adversarial ?? AdversarialSettings.None).For(model.Bert.WordEmbeddings.weight!);
        if (train.Count == 0) throw new ArgumentException("There are no training rows.", nameof(train));
        TokenIds.CheckRows(train.Select(r => r.Ids), model.Bert.Config.VocabSize);
        (_model, _train, _validation) = (model, train, validation);
        _module = model as nn.Module ?? throw new ArgumentException("The classifier must be a TorchSharp module.", nameof(model));
        _batches = new EpochBatches(train.Count, batchSize, seed);
        (PadId, MaxLength, L2SP) = (padId, maxLength, l2sp);
        _device = _module.parameters().First().device;
        if (classWeights is not null) _classWeights = tensor(classWeights).to(_device).DetachFromDisposeScope();
        _l2sp = new L2SPPenalty(_module, l2sp);
    }

    /// <summary>Padding id.</summary>
    public int PadId { get; }
    /// <summary>Longest sequence fed to the model.</summary>
    public int MaxLength { get; }
    /// <summary>Rows per micro-batch.</summary>
    public int BatchSize => _batches.BatchSize;
    /// <summary>Lambda of the L2-SP penalty.</summary>
    public double L2SP { get; }
    /// <summary>Micro-batches per epoch.</summary>
    public int BatchesPerEpoch => _batches.PerEpoch;

    /// <inheritdoc/>
    public nn.Module Model => _module;
    /// <inheritdoc/>
    public long TrainingExamples => _train.Count;

    /// <inheritdoc/>
    public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
    {
        var rows = _batches.Draw(draw).Select(i => _train[i]).ToList();
        var (logits, labels, tokens) = Forward(rows);
        var loss = _adversarial.AddTo(F.cross_entropy(logits, labels, _classWeights), () => F.cross_entropy(Forward(rows).Logits, labels, _classWeights));
        if (_joint is not null) loss = _joint.AddTo(loss, _model.Bert, rows.Select(r => r.Ids).ToList(), PadId, MaxLength, random);
        return (_l2sp.AddTo(loss), rows.Count, tokens);
    }

    /// <inheritdoc/>
    public ValidationResult? Validate(int step)
    {
        if (_validation.Count == 0) return null;
        using var _ = no_grad();
        _module.eval();
        double loss = 0;
        var predicted = new List<int>();
        var positive = new List<double>();
        foreach (var chunk in _validation.Chunk(BatchSize))
        {
            using var scope = NewDisposeScope();
            var (logits, labels, _) = Forward(chunk);
            loss += F.cross_entropy(logits, labels, _classWeights).item<float>() * chunk.Length;
            predicted.AddRange(logits.argmax(-1).cpu().data<long>().ToArray().Select(p => (int)p));
            if (logits.shape[1] == 2) positive.AddRange(F.softmax(logits, -1)[.., 1].cpu().data<float>().ToArray().Select(p => (double)p));
        }
        var gold = _validation.Select(r => r.Label).ToList();
        var accuracy = gold.Zip(predicted).Count(p => p.First == p.Second) / (double)gold.Count;
        // Binary: the positive class's F1 and the AUC of its probability; multiclass: macro F1.
        return _model.Labels == 2
            ? new ValidationResult(step, loss / _validation.Count, accuracy, F1: ClassificationScores.BinaryF1(gold, predicted), Auc: ClassificationScores.Auc(gold, positive))
            : new ValidationResult(step, loss / _validation.Count, accuracy, F1: ClassificationScores.MacroF1(gold, predicted));
    }

    /// <summary>Class logits (B, C) of rows, with their labels and real-token count.</summary>
    private (Tensor Logits, Tensor Labels, long Tokens) Forward(IReadOnlyList<LabelledSequence> rows)
    {
        var (ids, mask, segments) = Batching.PadPairs(rows.Select(r => r.Ids).ToList(), rows.Select(r => r.Segments).ToList(), PadId, MaxLength, _device);
        var labels = tensor(rows.Select(r => (long)r.Label).ToArray()).to(_device);
        return (_model.Forward(ids, mask, segments), labels, ids.shape[0] * ids.shape[1]);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _classWeights?.Dispose();
        _l2sp.Dispose();
    }
}
