using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines.Models.Training;

/// <summary>One sequence with a real-valued target: token ids, optional segment ids (sentence pairs), the value.</summary>
public sealed record ScoredSequence(int[] Ids, int[]? Segments, float Target);

/// <summary>
/// Regression fine-tuning of a one-output <see cref="BertForSequenceClassification"/>: mean squared
/// error against targets standardised by the training rows' mean and standard deviation, so the
/// head starts near the right scale whatever the label's units (0-5 similarity, prices, ratings).
/// Loss is in standardised units: 1.0 is what always predicting the mean scores, so 1 - loss is
/// about R squared. Epoch order, L2-SP and FGM as in <see cref="SequenceClassificationTask"/>.
/// After training, <see cref="BertForSequenceClassification.RescaleOutput"/> with
/// <see cref="Scale"/> and <see cref="Shift"/> puts the outputs back on the label's scale.
/// </summary>
public sealed class SequenceRegressionTask : ITrainingTask, IDisposable
{
    private readonly BertForSequenceClassification _model;
    private readonly IReadOnlyList<ScoredSequence> _train;
    private readonly IReadOnlyList<ScoredSequence> _validation;
    private readonly L2SPPenalty _l2sp;
    private readonly AdversarialEmbeddings _adversarial;
    private readonly EpochBatches _batches;
    private readonly Device _device;

    /// <summary>Creates the task; <paramref name="l2sp"/> and <paramref name="adversarial"/> as for classification (0, null: off).</summary>
    public SequenceRegressionTask(BertForSequenceClassification model, IReadOnlyList<ScoredSequence> train,
        IReadOnlyList<ScoredSequence> validation, int padId, int maxLength, int batchSize, int seed, double l2sp = 0, AdversarialSettings? adversarial = null)
    {
        if (model.Labels != 1) throw new ArgumentException($"A regressor has one output; this model has {model.Labels}.", nameof(model));
        if (train.Count == 0) throw new ArgumentException("There are no training rows.", nameof(train));
        TokenIds.CheckRows(train.Select(r => r.Ids), model.Bert.Config.VocabSize);
        (_model, _train, _validation, PadId, MaxLength) = (model, train, validation, padId, maxLength);
        (Shift, Scale) = Standardisation(train);
        _batches = new EpochBatches(train.Count, batchSize, seed);
        _device = model.parameters().First().device;
        _l2sp = new L2SPPenalty(model, l2sp);
        _adversarial = (adversarial ?? AdversarialSettings.None).For(model.Bert.WordEmbeddings.weight!);
    }

    /// <summary>Padding id.</summary>
    public int PadId { get; }
    /// <summary>Longest sequence fed to the model.</summary>
    public int MaxLength { get; }
    /// <summary>Micro-batches per epoch.</summary>
    public int BatchesPerEpoch => _batches.PerEpoch;
    /// <summary>Mean of the training targets.</summary>
    public double Shift { get; }
    /// <summary>Standard deviation of the training targets (1 when they are all equal).</summary>
    public double Scale { get; }

    /// <inheritdoc/>
    public nn.Module Model => _model;
    /// <inheritdoc/>
    public long TrainingExamples => _train.Count;

    /// <inheritdoc/>
    public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
    {
        var rows = _batches.Draw(draw).Select(i => _train[i]).ToList();
        var (predicted, targets, tokens) = Forward(rows);
        var loss = _adversarial.AddTo(F.mse_loss(predicted, targets), () => F.mse_loss(Forward(rows).Predicted, targets));
        return (_l2sp.AddTo(loss), rows.Count, tokens);
    }

    /// <inheritdoc/>
    public ValidationResult? Validate(int step)
    {
        if (_validation.Count == 0) return null;
        using var _ = no_grad();
        _model.eval();
        double loss = 0;
        foreach (var chunk in _validation.Chunk(_batches.BatchSize))
        {
            using var scope = NewDisposeScope();
            var (predicted, targets, _) = Forward(chunk);
            loss += F.mse_loss(predicted, targets).item<float>() * chunk.Length;
        }
        return new ValidationResult(step, loss / _validation.Count);
    }

    // Standardised predictions (B) of rows, their standardised targets (B), and the padded token count.
    private (Tensor Predicted, Tensor Targets, long Tokens) Forward(IReadOnlyList<ScoredSequence> rows)
    {
        var (ids, mask, segments) = Batching.PadPairs(rows.Select(r => r.Ids).ToList(), rows.Select(r => r.Segments).ToList(), PadId, MaxLength, _device);
        var targets = tensor(rows.Select(r => (float)((r.Target - Shift) / Scale)).ToArray()).to(_device);
        return (_model.Forward(ids, mask, segments).squeeze(-1), targets, ids.shape[0] * ids.shape[1]);
    }

    private static (double Mean, double Deviation) Standardisation(IReadOnlyList<ScoredSequence> rows)
    {
        var mean = rows.Average(r => (double)r.Target);
        var deviation = Math.Sqrt(rows.Average(r => (r.Target - mean) * (r.Target - mean)));
        return (mean, deviation > 0 ? deviation : 1);
    }

    /// <inheritdoc/>
    public void Dispose() => _l2sp.Dispose();
}
