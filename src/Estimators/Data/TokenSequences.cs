using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Pipelines;

/// <summary>Reads a column of token ids (a vector of Int32, as the subword tokenizer writes) into memory.</summary>
public static class TokenSequences
{
    /// <summary>
    /// Throws unless <paramref name="schema"/> has <paramref name="column"/> as a vector of Int32,
    /// with the message ML.NET's own components give.
    /// </summary>
    public static void CheckColumn(SchemaShape schema, string column)
    {
        if (!schema.TryFindColumn(column, out var found))
            throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{column}'");
        if (found.Kind == SchemaShape.Column.VectorKind.Scalar || found.ItemType != NumberDataViewType.Int32)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"Schema mismatch for input column '{column}': expected vector of Int32 (token ids), got {Describe(found)}");
    }

    /// <summary>As <see cref="CheckColumn(SchemaShape, string)"/>, for a data view's schema; returns the column.</summary>
    public static DataViewSchema.Column CheckColumn(DataViewSchema schema, string column)
    {
        var found = schema.GetColumnOrNull(column)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{column}'");
        if (found.Type is not VectorDataViewType { ItemType: var item } || item != NumberDataViewType.Int32)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"Schema mismatch for input column '{column}': expected vector of Int32 (token ids), got {found.Type}");
        return found;
    }

    /// <summary>
    /// Every row's token ids, in row order. Rows with fewer than <paramref name="minimumLength"/>
    /// ids are skipped and counted (an empty text gives no training signal).
    /// </summary>
    public static (List<int[]> Sequences, int Skipped) Read(IDataView data, string column, int minimumLength = 2)
    {
        var (sequences, _, skipped) = ReadWithWordIds(data, column, null, minimumLength);
        return (sequences, skipped);
    }

    /// <summary>
    /// As <see cref="Read"/>, with each kept row's word ids from <paramref name="wordIdsColumn"/>
    /// (aligned with the sequences) when it is given; null word ids otherwise.
    /// </summary>
    public static (List<int[]> Sequences, List<int[]>? WordIds, int Skipped) ReadWithWordIds(IDataView data, string column, string? wordIdsColumn,
        int minimumLength = 2)
    {
        var col = CheckColumn(data.Schema, column);
        var words = wordIdsColumn is null ? (DataViewSchema.Column?)null : CheckColumn(data.Schema, wordIdsColumn);
        var sequences = new List<int[]>();
        var wordIds = words is null ? null : new List<int[]>();
        var skipped = 0;
        foreach (var (row, rowWords) in Enumerate(data, col, words))
        {
            if (row.Length < minimumLength) { skipped++; continue; }
            sequences.Add(row);
            wordIds?.Add(rowWords!);
        }
        return (sequences, wordIds, skipped);
    }

    /// <summary>
    /// Every row's token ids and, when <paramref name="wordIds"/> is given, its word ids, in row order, read
    /// lazily through one cursor (each enumeration opens a new one).
    /// </summary>
    public static IEnumerable<(int[] Row, int[]? Words)> Enumerate(IDataView data, DataViewSchema.Column tokens, DataViewSchema.Column? wordIds)
    {
        using var cursor = data.GetRowCursor(wordIds is { } w ? [tokens, w] : [tokens]);
        var getter = cursor.GetGetter<VBuffer<int>>(tokens);
        var wordGetter = wordIds is { } wc ? cursor.GetGetter<VBuffer<int>>(wc) : null;
        VBuffer<int> buffer = default, wordBuffer = default;
        while (cursor.MoveNext())
        {
            getter(ref buffer);
            int[]? words = null;
            if (wordGetter is not null)
            {
                wordGetter(ref wordBuffer);
                words = wordBuffer.DenseValues().ToArray();
            }
            yield return (buffer.DenseValues().ToArray(), words);
        }
    }

    private static string Describe(SchemaShape.Column column) =>
        column.Kind == SchemaShape.Column.VectorKind.Scalar ? $"{column.ItemType}" : $"vector of {column.ItemType}";
}
