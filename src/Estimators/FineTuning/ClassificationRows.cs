using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>The rows of a classification data view, split into labelled and unlabelled ones.</summary>
internal sealed record ClassificationRows(
    List<LabelledSequence> Labelled, List<LabelledSequence> Unlabelled, int Classes, string[] ClassNames, int TooShort, int Truncated)
{
    /// <summary>
    /// Reads tokens, optional segments and the label. Binary labels are Boolean or Single (NaN:
    /// unlabelled, above 0: positive); multiclass labels are keys (the missing key 0: unlabelled).
    /// Rows with no tokens are skipped and counted; rows longer than <paramref name="maxLength"/> are counted.
    /// </summary>
    public static ClassificationRows Read(IDataView data, string tokens, string? segments, string label, bool binary, int maxLength)
    {
        var tokenColumn = TokenSequences.CheckColumn(data.Schema, tokens);
        var segmentColumn = segments is null ? (DataViewSchema.Column?)null : TokenSequences.CheckColumn(data.Schema, segments);
        var labelColumn = CheckLabel(data.Schema, label, binary);
        var (classes, names) = binary ? (2, new[] { "False", "True" }) : KeyNames(labelColumn);

        var labelled = new List<LabelledSequence>();
        var unlabelled = new List<LabelledSequence>();
        int tooShort = 0, truncated = 0;
        var active = new List<DataViewSchema.Column> { tokenColumn, labelColumn };
        if (segmentColumn is { } s) active.Add(s);
        using var cursor = data.GetRowCursor(active);
        var getTokens = cursor.GetGetter<VBuffer<int>>(tokenColumn);
        var getSegments = segmentColumn is { } sc ? cursor.GetGetter<VBuffer<int>>(sc) : null;
        var getLabel = LabelGetter(cursor, labelColumn, binary);
        VBuffer<int> ids = default, segs = default;
        while (cursor.MoveNext())
        {
            getTokens(ref ids);
            if (ids.Length == 0) { tooShort++; continue; }
            if (ids.Length > maxLength) truncated++;
            int[]? segmentIds = null;
            if (getSegments is not null) { getSegments(ref segs); segmentIds = segs.DenseValues().ToArray(); }
            var value = getLabel();
            var row = new LabelledSequence(ids.DenseValues().ToArray(), segmentIds, value ?? -1);
            (value is null ? unlabelled : labelled).Add(row);
        }
        return new ClassificationRows(labelled, unlabelled, classes, names, tooShort, truncated);
    }

    public static DataViewSchema.Column CheckLabel(DataViewSchema schema, string label, bool binary)
    {
        var column = schema.GetColumnOrNull(label)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find label column '{label}'");
        var ok = binary
            ? column.Type == BooleanDataViewType.Instance || column.Type == NumberDataViewType.Single
            : column.Type is KeyDataViewType { Count: >= 2 };
        if (!ok)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"Schema mismatch for label column '{label}': expected {(binary ? "Boolean or Single" : "Key with at least two values (use MapValueToKey)")}, got {column.Type}");
        return column;
    }

    private static (int, string[]) KeyNames(DataViewSchema.Column label)
    {
        var count = (int)((KeyDataViewType)label.Type).Count;
        VBuffer<ReadOnlyMemory<char>> names = default;
        if (label.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues) is not null)
        {
            label.GetKeyValues(ref names);
            if (names.Length == count) return (count, names.DenseValues().Select(n => n.ToString()).ToArray());
        }
        return (count, Enumerable.Range(0, count).Select(i => i.ToString()).ToArray());
    }

    // The class index of the current row, or null when the row has no label.
    private static Func<int?> LabelGetter(DataViewRowCursor cursor, DataViewSchema.Column label, bool binary)
    {
        if (label.Type == BooleanDataViewType.Instance)
        {
            var get = cursor.GetGetter<bool>(label);
            return () => { bool v = default; get(ref v); return v ? 1 : 0; };
        }
        if (label.Type == NumberDataViewType.Single)
        {
            var get = cursor.GetGetter<float>(label);
            return () => { float v = default; get(ref v); return float.IsNaN(v) ? null : v > 0 ? 1 : 0; };
        }
        var key = cursor.GetGetter<uint>(label);
        return () => { uint v = default; key(ref v); return v == 0 ? null : (int)v - 1; };
    }
}
