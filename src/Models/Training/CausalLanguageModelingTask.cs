using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// Next-token prediction on a token stream, nanoGPT style: each micro-batch is
/// <see cref="BatchSize"/> random windows of <see cref="BlockSize"/> + 1 tokens, inputs the first
/// BlockSize and targets the last. Validation is the mean loss (and next-token accuracy) over a
/// fixed set of <see cref="ValidationBatches"/> windows of the validation stream, the same windows
/// every time, so validations are comparable.
/// </summary>
public sealed class CausalLanguageModelingTask : ITrainingTask, IDisposable
{
    private readonly GptLanguageModel _model;
    private readonly Tensor _train;
    private readonly Tensor? _validation;
    private readonly Device _device;
    private readonly StreamedSequences? _windows;

    /// <summary>Creates the task over token streams (validation may be null).</summary>
    public CausalLanguageModelingTask(GptLanguageModel model, long[] train, long[]? validation, int blockSize, int batchSize,
        int validationBatches = 20, int validationSeed = 12345)
        : this(model, train, null, validation, blockSize, batchSize, validationBatches, validationSeed)
    {
    }

    /// <summary>
    /// The task over windows of <paramref name="blockSize"/> + 1 tokens read from a stream through a shuffle
    /// buffer (<paramref name="windows"/>) instead of random windows of a stream in memory; each micro-batch
    /// takes the stream's next <paramref name="batchSize"/> windows. Validation is as for the in-memory task.
    /// </summary>
    public static CausalLanguageModelingTask Streaming(GptLanguageModel model, StreamedSequences windows, long[]? validation, int blockSize,
        int batchSize, int validationBatches = 20, int validationSeed = 12345) =>
        new(model, null, windows ?? throw new ArgumentNullException(nameof(windows)), validation, blockSize, batchSize, validationBatches, validationSeed);

    private CausalLanguageModelingTask(GptLanguageModel model, long[]? train, StreamedSequences? windows, long[]? validation, int blockSize, int batchSize,
        int validationBatches, int validationSeed)
    {
        _windows = windows;
        train ??= [];
        if (windows is null && train.Length < blockSize + 2) throw new ArgumentException($"The training stream has {train.Length} tokens; it needs more than block size + 1 = {blockSize + 1}.", nameof(train));
        if (validation is not null && validation.Length < blockSize + 2) throw new ArgumentException($"The validation stream has {validation.Length} tokens; it needs more than block size + 1 = {blockSize + 1}.", nameof(validation));
        TokenIds.CheckRows(train, model.Config.VocabSize);
        _model = model;
        _device = model.parameters().First().device;
        _train = tensor(train).DetachFromDisposeScope();
        _validation = validation is null ? null : tensor(validation).DetachFromDisposeScope();
        (BlockSize, BatchSize, ValidationBatches, ValidationSeed) = (blockSize, batchSize, validationBatches, validationSeed);
    }

    /// <summary>Tokens of context per window.</summary>
    public int BlockSize { get; }
    /// <summary>Windows per micro-batch.</summary>
    public int BatchSize { get; }
    /// <summary>Windows scored per validation = ValidationBatches x BatchSize.</summary>
    public int ValidationBatches { get; }
    /// <summary>Seed of the validation windows.</summary>
    public int ValidationSeed { get; }

    /// <inheritdoc/>
    public nn.Module Model => _model;

    /// <summary>Windows of BlockSize tokens in the training stream (an "epoch" of examples).</summary>
    public long TrainingExamples => _windows?.SequencesPerEpoch ?? _train.shape[0] / BlockSize;

    /// <inheritdoc/>
    public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
    {
        var (x, y) = _windows is null ? Windows(_train, random) : Streamed(draw);
        return (GptLanguageModel.Loss(_model.forward(x), y), BatchSize, (long)BatchSize * BlockSize);
    }

    /// <inheritdoc/>
    public ValidationResult? Validate(int step)
    {
        if (_validation is null) return null;
        using var _ = no_grad();
        _model.eval();
        var random = new Random(ValidationSeed);
        double loss = 0, correct = 0;
        for (var i = 0; i < ValidationBatches; i++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = Windows(_validation, random);
            var logits = _model.forward(x);
            loss += GptLanguageModel.Loss(logits, y).item<float>();
            correct += logits.argmax(-1).eq(y).sum().item<long>();
        }
        return new ValidationResult(step, loss / ValidationBatches, correct / ((double)ValidationBatches * BatchSize * BlockSize));
    }

    private (Tensor X, Tensor Y) Windows(Tensor stream, Random random)
    {
        var starts = new long[BatchSize];
        for (var i = 0; i < BatchSize; i++) starts[i] = random.NextInt64(stream.shape[0] - BlockSize - 1);
        var (x, y) = Windows(stream, tensor(starts), BlockSize);
        return (x.to(_device), y.to(_device));
    }

    /// <summary>
    /// The rows one after another, each followed by <paramref name="separator"/>, read lazily and cut into
    /// windows of <paramref name="blockSize"/> + 1 tokens that overlap by one, so that every token after the
    /// first is a next-token target once; a last partial window is dropped. What a streamed task draws.
    /// </summary>
    public static IEnumerable<int[]> PackedWindows(IEnumerable<int[]> rows, int separator, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        var window = new int[blockSize + 1];
        var filled = 0;
        foreach (var row in rows)
        {
            foreach (var id in row.Append(separator))
            {
                window[filled++] = id;
                if (filled <= blockSize) continue;
                yield return (int[])window.Clone();
                window[0] = window[blockSize];
                filled = 1;
            }
        }
    }

    // The stream's next windows (each BlockSize + 1 tokens), checked on the host as they arrive.
    private (Tensor X, Tensor Y) Streamed(long draw)
    {
        var windows = _windows!.Draw(draw, BatchSize);
        TokenIds.CheckRows(windows.Select(w => w.Ids), _model.Config.VocabSize);
        var flat = new long[BatchSize * (BlockSize + 1)];
        for (var b = 0; b < BatchSize; b++)
        {
            if (windows[b].Ids.Length != BlockSize + 1)
                throw new ArgumentException($"A streamed window has {windows[b].Ids.Length} tokens; the task takes block size + 1 = {BlockSize + 1}.");
            for (var t = 0; t <= BlockSize; t++) flat[b * (BlockSize + 1) + t] = windows[b].Ids[t];
        }
        var rows = tensor(flat, [BatchSize, BlockSize + 1]);
        return (rows[.., ..^1].to(_device), rows[.., 1..].to(_device));
    }

    /// <summary>
    /// Inputs (B, T) and next-token targets (B, T) of the windows of <paramref name="blockSize"/> + 1
    /// tokens of <paramref name="stream"/> that begin at <paramref name="starts"/> (B).
    /// </summary>
    public static (Tensor X, Tensor Y) Windows(Tensor stream, Tensor starts, int blockSize)
    {
        var rows = stream[arange(blockSize + 1).unsqueeze(0) + starts.unsqueeze(1)];   // (B, T + 1)
        return (rows[.., ..^1], rows[.., 1..]);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _train.Dispose();
        _validation?.Dispose();
    }
}
