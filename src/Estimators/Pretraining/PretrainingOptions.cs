namespace Pipelines;

/// <summary>How a pretraining estimator reads its token column.</summary>
public enum CorpusReading
{
    /// <summary>
    /// In memory when rows x the longest sequence x 4 bytes fits in <see cref="PretrainingOptions.InMemoryLimitBytes"/>,
    /// else streamed (the rows are counted with a cursor that reads no column when the IDataView does not know
    /// their number). The log says which.
    /// </summary>
    Auto,
    /// <summary>Every row read into memory before the first step (random rows per batch, the fastest for small corpora).</summary>
    InMemory,
    /// <summary>
    /// Rows read through a cursor, epoch after epoch, into a bounded shuffle buffer: memory does not grow
    /// with the corpus. Validation rows are a seeded hash's choice among the first rows, at most
    /// <see cref="PretrainingOptions.MaxStreamedValidationRows"/>; a checkpoint's step is the stream position,
    /// so a resumed run reads up to it again and goes on as the uninterrupted run did.
    /// </summary>
    Streamed,
}

/// <summary>Options the two pretraining estimators share: how they read a corpus that may not fit in memory.</summary>
public abstract class PretrainingOptions : TrainingOptions
{
    /// <summary>In memory, streamed, or chosen by the corpus's size (default).</summary>
    public CorpusReading Reading { get; set; } = CorpusReading.Auto;
    /// <summary>Sequences (masked-LM) or blocks (causal-LM) held for shuffling when streamed: the memory the stream uses.</summary>
    public int ShuffleBufferSize { get; set; } = 10_000;
    /// <summary>Validation rows held out of a stream at most (they are kept in memory and scored at each validation).</summary>
    public int MaxStreamedValidationRows { get; set; } = 2_000;
    /// <summary><see cref="CorpusReading.Auto"/> reads a corpus into memory up to this many bytes of token ids (default 1 GiB).</summary>
    public long InMemoryLimitBytes { get; set; } = 1L << 30;

    internal override void Validate()
    {
        base.Validate();
        OptionChecks.Require(Enum.IsDefined(Reading), nameof(Reading), Reading, "is not a CorpusReading");
        OptionChecks.Require(ShuffleBufferSize > 0, nameof(ShuffleBufferSize), ShuffleBufferSize, "must be positive");
        OptionChecks.Require(MaxStreamedValidationRows >= 0, nameof(MaxStreamedValidationRows), MaxStreamedValidationRows, "must not be negative");
        OptionChecks.Require(InMemoryLimitBytes > 0, nameof(InMemoryLimitBytes), InMemoryLimitBytes, "must be positive");
    }

    /// <summary>Whether to stream <paramref name="data"/>, whose sequences have at most <paramref name="maxLength"/> tokens, and why.</summary>
    internal (bool Stream, string Why) ChooseReading(Microsoft.ML.IDataView data, int maxLength)
    {
        if (Reading == CorpusReading.InMemory) return (false, "in memory (Reading = InMemory)");
        if (Reading == CorpusReading.Streamed) return (true, $"streamed through a shuffle buffer of {ShuffleBufferSize:N0} (Reading = Streamed)");
        var rows = data.GetRowCount() ?? CountRows(data);
        return rows * maxLength * 4L > InMemoryLimitBytes
            ? (true, $"streamed through a shuffle buffer of {ShuffleBufferSize:N0}: {rows:N0} rows x {maxLength} tokens may pass InMemoryLimitBytes {InMemoryLimitBytes:N0}")
            : (false, $"in memory: {rows:N0} rows x {maxLength} tokens fit InMemoryLimitBytes {InMemoryLimitBytes:N0}");
    }

    // A cursor with no active column: the rows are walked, not tokenized.
    private static long CountRows(Microsoft.ML.IDataView data)
    {
        using var cursor = data.GetRowCursor([]);
        long rows = 0;
        while (cursor.MoveNext()) rows++;
        return rows;
    }
}
