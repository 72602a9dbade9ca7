using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>One generation example: the prompt's token ids and the response's.</summary>
public sealed record PromptResponse(int[] Prompt, int[] Response);

/// <summary>
/// Generation fine-tuning of a <see cref="GptLanguageModel"/> on prompt -> response pairs, the
/// recipe of instruction tuning: each row is laid out as <c>prompt [SEP] response [SEP]</c> and only
/// the response's tokens and the closing separator count in the loss, so the model learns to answer
/// and to stop, not to write prompts. Epochs over the rows in a seeded order; validation reports the
/// mean loss per response token and next-token accuracy on them.
/// </summary>
public sealed class PromptResponseTask : ITrainingTask
{
    private readonly GptLanguageModel _model;
    private readonly IReadOnlyList<(int[] Inputs, int[] Targets)> _train;
    private readonly IReadOnlyList<(int[] Inputs, int[] Targets)> _validation;
    private readonly EpochBatches _batches;
    private readonly int _padId;
    private readonly int _blockSize;
    private readonly Device _device;

    /// <summary>Creates the task; rows longer than <paramref name="blockSize"/> + 1 tokens are cut as <see cref="Layout"/> says.</summary>
    public PromptResponseTask(GptLanguageModel model, IReadOnlyList<PromptResponse> train, IReadOnlyList<PromptResponse> validation,
        int separatorId, int padId, int blockSize, int batchSize, int seed)
    {
        if (train.Count == 0) throw new ArgumentException("There are no training rows.", nameof(train));
        TokenIds.CheckRows(train.SelectMany(r => new[] { r.Prompt, r.Response, [separatorId, padId] }), model.Config.VocabSize);
        _model = model;
        _train = train.Select(r => Layout(r, separatorId, blockSize)).ToList();
        _validation = validation.Select(r => Layout(r, separatorId, blockSize)).ToList();
        _batches = new EpochBatches(train.Count, batchSize, seed);
        (_padId, _blockSize) = (padId, blockSize);
        _device = model.parameters().First().device;
    }

    /// <summary>Micro-batches per epoch.</summary>
    public int BatchesPerEpoch => _batches.PerEpoch;

    /// <inheritdoc/>
    public nn.Module Model => _model;
    /// <inheritdoc/>
    public long TrainingExamples => _train.Count;

    /// <summary>
    /// Inputs and next-token targets of <c>prompt [SEP] response [SEP]</c>, the targets of the prompt's
    /// positions set to <see cref="GptLanguageModel.IgnoreIndex"/>. When the whole exceeds
    /// <paramref name="blockSize"/> + 1 tokens the prompt keeps its beginning and loses its end
    /// (the response is cut only when it alone is too long).
    /// </summary>
    public static (int[] Inputs, int[] Targets) Layout(PromptResponse row, int separatorId, int blockSize)
    {
        var response = row.Response.Take(blockSize - 1).ToArray();
        var prompt = row.Prompt.Take(Math.Max(0, blockSize - 1 - response.Length)).ToArray();
        int[] sequence = [.. prompt, separatorId, .. response, separatorId];
        var targets = sequence[1..];
        // Position i predicts token i + 1; the first token worth predicting is the response's first, at prompt.Length + 1.
        for (var i = 0; i < prompt.Length; i++) targets[i] = (int)GptLanguageModel.IgnoreIndex;
        return (sequence[..^1], targets);
    }

    /// <inheritdoc/>
    public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
    {
        var rows = _batches.Draw(draw).Select(i => _train[i]).ToList();
        var (inputs, targets) = Pad(rows);
        return (GptLanguageModel.Loss(_model.forward(inputs), targets), rows.Count, inputs.shape[0] * inputs.shape[1]);
    }

    /// <inheritdoc/>
    public ValidationResult? Validate(int step)
    {
        if (_validation.Count == 0) return null;
        using var _ = no_grad();
        _model.eval();
        double loss = 0, correct = 0, counted = 0;
        foreach (var chunk in _validation.Chunk(_batches.BatchSize))
        {
            using var scope = NewDisposeScope();
            var (inputs, targets) = Pad(chunk);
            var logits = _model.forward(inputs);
            var kept = targets.ne(GptLanguageModel.IgnoreIndex);
            var count = kept.sum().item<long>();
            loss += GptLanguageModel.Loss(logits, targets).item<float>() * count;
            correct += logits.argmax(-1).eq(targets).logical_and(kept).sum().item<long>();
            counted += count;
        }
        return new ValidationResult(step, loss / counted, correct / counted);
    }

    // Right padding: causal attention never lets a real position see the padding after it, and padded targets are ignored.
    private (Tensor Inputs, Tensor Targets) Pad(IReadOnlyList<(int[] Inputs, int[] Targets)> rows)
    {
        var (inputs, _) = Batching.Pad(rows.Select(r => r.Inputs).ToList(), _padId, _blockSize, _device);
        return (inputs, Batching.PadLabels(rows.Select(r => r.Targets).ToList(), inputs.shape[1], _device));
    }
}
