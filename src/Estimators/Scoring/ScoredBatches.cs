using Microsoft.ML;

namespace Pipelines;

/// <summary>
/// Results of a cursor's rows, computed ahead in batches: a second cursor over the same input
/// reads a window of rows, sorts them by length so that each batch pads little, scores batch by
/// batch and keeps the window's results in row order. Any two cursors of an IDataView without a
/// random generator visit the same rows in the same order, so row position n of the main cursor
/// is row n of the look-ahead cursor.
/// </summary>
internal sealed class ScoredBatches<TInput, TResult>(IDataView input, RowScoring<TInput, TResult> scoring, int batchSize) : IDisposable
{
    /// <summary>Rows read ahead and sorted by length together, in batches.</summary>
    internal const int WindowBatches = 8;

    private DataViewRowCursor? _cursor;
    private Func<TInput>? _read;
    private TResult[] _results = [];
    private long _start;

    /// <summary>The result of the row at <paramref name="position"/>; positions only move forward.</summary>
    public TResult Get(long position)
    {
        if (position < _start)
            throw new InvalidOperationException($"Row {position} was asked for after row {_start}: a scoring cursor only moves forward.");
        while (position >= _start + _results.Length)
            if (!Fill()) throw new InvalidOperationException($"The look-ahead cursor ended before row {position}: the input changed between two cursors.");
        return _results[position - _start];
    }

    private bool Fill()
    {
        _start += _results.Length;
        _cursor ??= input.GetRowCursor(scoring.InputColumns.Select(i => input.Schema[i]));
        _read ??= scoring.Reader(_cursor);
        var window = WindowBatches * batchSize;
        var rows = new List<TInput>(window);
        while (rows.Count < window && _cursor.MoveNext()) rows.Add(_read());
        _results = new TResult[rows.Count];
        var byLength = Enumerable.Range(0, rows.Count).OrderBy(i => scoring.Length(rows[i])).ToArray();
        foreach (var batch in byLength.Chunk(batchSize))
        {
            var results = scoring.Score(batch.Select(i => rows[i]).ToArray());
            for (var j = 0; j < batch.Length; j++) _results[batch[j]] = results[j];
        }
        return rows.Count > 0;
    }

    public void Dispose() => _cursor?.Dispose();
}
