using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// One window of a question and (part of) its context, laid out as <c>[CLS] question [SEP] context
/// [SEP]</c> with segment ids, and the token positions of the answer's first and last tokens in it
/// (both 0, the [CLS] position, when the window holds no answer).
/// </summary>
public sealed record SpanExample(int[] Ids, int[] Segments, int Start, int End);

/// <summary>
/// Fine-tuning of <see cref="BertForQuestionAnswering"/> on answer spans: epochs over the windows
/// in a seeded order, the mean of the start and end cross-entropies. Validation reports the loss
/// and the share of windows whose start and end are both right.
/// </summary>
public sealed class QuestionAnsweringTask(BertForQuestionAnswering model, IReadOnlyList<SpanExample> train,
    IReadOnlyList<SpanExample> validation, int padId, int maxLength, int batchSize, int seed) : ITrainingTask
{
    private readonly EpochBatches _batches = Batches(train, model, batchSize, seed);
    private readonly Device _device = model.parameters().First().device;

    /// <summary>Micro-batches per epoch.</summary>
    public int BatchesPerEpoch => _batches.PerEpoch;

    // The windows' order by epoch; none, or ids outside the vocabulary, are refused. The ids are checked on
    // the host once, here, so that training steps need not read them back from the device.
    private static EpochBatches Batches(IReadOnlyList<SpanExample> train, BertForQuestionAnswering model, int batchSize, int seed)
    {
        if (train.Count == 0) throw new ArgumentException("There are no training windows.", nameof(train));
        TokenIds.CheckRows(train.Select(w => w.Ids), model.Bert.Config.VocabSize);
        return new EpochBatches(train.Count, batchSize, seed);
    }

    /// <inheritdoc/>
    public nn.Module Model => model;
    /// <inheritdoc/>
    public long TrainingExamples => train.Count;

    /// <inheritdoc/>
    public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
    {
        var rows = _batches.Draw(draw).Select(i => train[i]).ToList();
        var (start, end, startTargets, endTargets, tokens) = Forward(rows);
        return (BertForQuestionAnswering.Loss(start, end, startTargets, endTargets), rows.Count, tokens);
    }

    /// <inheritdoc/>
    public ValidationResult? Validate(int step)
    {
        if (validation.Count == 0) return null;
        using var _ = no_grad();
        model.eval();
        double loss = 0, correct = 0;
        foreach (var chunk in validation.Chunk(_batches.BatchSize))
        {
            using var scope = NewDisposeScope();
            var (start, end, startTargets, endTargets, _) = Forward(chunk);
            loss += BertForQuestionAnswering.Loss(start, end, startTargets, endTargets).item<float>() * chunk.Length;
            correct += start.argmax(-1).eq(startTargets).logical_and(end.argmax(-1).eq(endTargets)).sum().item<long>();
        }
        return new ValidationResult(step, loss / validation.Count, correct / validation.Count);
    }

    private (Tensor Start, Tensor End, Tensor StartTargets, Tensor EndTargets, long Tokens) Forward(IReadOnlyList<SpanExample> rows)
    {
        var (ids, mask, segments) = Batching.PadPairs(rows.Select(r => r.Ids).ToList(), rows.Select(r => (int[]?)r.Segments).ToList(), padId, maxLength, _device);
        var (start, end) = model.Forward(ids, mask, segments);
        return (start, end, tensor(rows.Select(r => (long)r.Start).ToArray()).to(_device), tensor(rows.Select(r => (long)r.End).ToArray()).to(_device),
            ids.shape[0] * ids.shape[1]);
    }
}
