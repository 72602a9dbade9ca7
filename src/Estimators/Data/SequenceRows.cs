using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines;

/// <summary>One row read for fine-tuning: token ids, optional segment ids, and its label (null: unlabelled).</summary>
internal sealed record SequenceRow<TLabel>(int[] Ids, int[]? Segments, TLabel? Label) where TLabel : struct;

/// <summary>Reads the token, segment and label columns the sequence-level trainers (classifier, regressor) learn from.</summary>
internal static class SequenceRows
{
    /// <summary>
    /// Every row's tokens, segments (when <paramref name="segments"/> is given) and the label that
    /// <paramref name="labelGetter"/> reads. Rows with no tokens are skipped and counted; rows longer
    /// than <paramref name="maxLength"/> are kept (the task cuts them) and counted.
    /// </summary>
    public static (List<SequenceRow<TLabel>> Rows, int TooShort, int Truncated) Read<TLabel>(IDataView data, string tokens, string? segments,
        DataViewSchema.Column label, Func<DataViewRow, Func<TLabel?>> labelGetter, int maxLength) where TLabel : struct
    {
        var tokenColumn = TokenSequences.CheckColumn(data.Schema, tokens);
        var segmentColumn = segments is null ? (DataViewSchema.Column?)null : TokenSequences.CheckColumn(data.Schema, segments);
        var active = new List<DataViewSchema.Column> { tokenColumn, label };
        if (segmentColumn is { } s) active.Add(s);
        var rows = new List<SequenceRow<TLabel>>();
        int tooShort = 0, truncated = 0;
        using var cursor = data.GetRowCursor(active);
        var getTokens = cursor.GetGetter<VBuffer<int>>(tokenColumn);
        var getSegments = segmentColumn is { } sc ? cursor.GetGetter<VBuffer<int>>(sc) : null;
        var getLabel = labelGetter(cursor);
        VBuffer<int> ids = default, segs = default;
        while (cursor.MoveNext())
        {
            getTokens(ref ids);
            if (ids.Length == 0) { tooShort++; continue; }
            if (ids.Length > maxLength) truncated++;
            int[]? segmentIds = null;
            if (getSegments is not null) { getSegments(ref segs); segmentIds = segs.DenseValues().ToArray(); }
            rows.Add(new SequenceRow<TLabel>(ids.DenseValues().ToArray(), segmentIds, getLabel()));
        }
        return (rows, tooShort, truncated);
    }
}
