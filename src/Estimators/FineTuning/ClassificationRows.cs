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
        var labelColumn = CheckLabel(data.Schema, label, binary);
        var (classes, names) = binary ? (2, new[] { "False", "True" }) : KeyNames(labelColumn);
        var rows = SequenceRows.Read(data, tokens, segments, labelColumn, cursor => LabelGetter(cursor, labelColumn), maxLength);
        var labelled = rows.Rows.Where(r => r.Label is not null).Select(r => new LabelledSequence(r.Ids, r.Segments, r.Label!.Value)).ToList();
        var unlabelled = rows.Rows.Where(r => r.Label is null).Select(r => new LabelledSequence(r.Ids, r.Segments, -1)).ToList();
        return new ClassificationRows(labelled, unlabelled, classes, names, rows.TooShort, rows.Truncated);
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
    private static Func<int?> LabelGetter(DataViewRow cursor, DataViewSchema.Column label)
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
