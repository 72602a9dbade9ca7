using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
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

    /// <summary>
    /// Training and validation rows: a seeded random fraction of <paramref name="labelled"/> held out
    /// (the options' ValidationFraction), or all of them with the options' ValidationSet read as validation.
    /// </summary>
    public static (List<LabelledSequence> Train, List<LabelledSequence> Validation) Split(List<LabelledSequence> labelled, FineTuningOptions options,
        TokenColumn tokens, string? segments, string label, bool binary, int maxLength, int seed, IChannel channel) =>
        options.ValidationSet is null
            ? FineTuningRun.Split(labelled, options.ValidationFraction, seed, channel)
            : (labelled, Read(tokens.Prepare(options.ValidationSet, segments, label), options.TokenColumnName, segments, label, binary, maxLength).Labelled);

    /// <summary>The number of classes the labelled rows show; refuses rows that cannot train a classifier (no label, one class).</summary>
    /// <param name="label">The label column's name, for messages.</param>
    /// <param name="singleLabel">True for a binary Single label, whose reading (true above 0) the message then explains.</param>
    public int CheckTrainable(string label, bool singleLabel)
    {
        if (Labelled.Count == 0)
            throw new InvalidOperationException($"No row has a label in column '{label}': nothing to fine-tune on.");
        var seen = Labelled.Select(r => r.Label).Distinct().Count();
        if (seen < 2)
            throw new InvalidOperationException($"Every labelled row has the same class ('{ClassNames[Labelled[0].Label]}'); a classifier needs at least two." +
                (singleLabel
                    ? " A Single label is true above 0 and false at 0 or below (NaN: no label), so values such as 1 and 2 are all true: map them to 0 and 1, or use a Boolean column."
                    : ""));
        return seen;
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
