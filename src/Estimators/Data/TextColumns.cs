using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines;

/// <summary>Checks of the raw text columns the generation and question answering trainers read, with ML.NET's wording.</summary>
internal static class TextColumns
{
    /// <summary>Throws unless every one of <paramref name="names"/> is a String column of <paramref name="schema"/>.</summary>
    public static void Check(SchemaShape schema, params string[] names)
    {
        foreach (var name in names)
        {
            if (!schema.TryFindColumn(name, out var column))
                throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{name}'");
            if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType != TextDataViewType.Instance)
                throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{name}': expected String, got {column.ItemType}");
        }
    }

    /// <summary>The String column <paramref name="name"/> of <paramref name="schema"/>; throws when it is missing or of another type.</summary>
    public static DataViewSchema.Column Check(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{name}'");
        if (column.Type != TextDataViewType.Instance)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{name}': expected String, got {column.Type}");
        return column;
    }
}
