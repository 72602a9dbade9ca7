using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Pipelines;

/// <summary>
/// Input-column checks with ML.NET's own messages ("Could not find input column 'X'", "Schema
/// mismatch for input column 'X': expected T, got U"), before data (estimators' SchemaShape) and
/// on the real input (transformers' schema).
/// </summary>
internal static class ColumnChecks
{
    public const string ExpectedText = "String";
    public const string ExpectedIdVector = "Vector<Int32>";

    public static void RequireText(IExceptionContext host, SchemaShape schema, string name)
    {
        if (!schema.TryFindColumn(name, out var column)) throw host.ExceptSchemaMismatch(nameof(schema), "input", name);
        if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType is not TextDataViewType)
            throw host.ExceptSchemaMismatch(nameof(schema), "input", name, ExpectedText, column.GetTypeString());
    }

    public static int RequireText(IExceptionContext host, DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw host.ExceptSchemaMismatch(nameof(schema), "input", name);
        if (column.Type is not TextDataViewType)
            throw host.ExceptSchemaMismatch(nameof(schema), "input", name, ExpectedText, column.Type.ToString());
        return column.Index;
    }

    public static void RequireIds(IExceptionContext host, SchemaShape schema, string name)
    {
        if (!schema.TryFindColumn(name, out var column)) throw host.ExceptSchemaMismatch(nameof(schema), "input", name);
        if (column.Kind == SchemaShape.Column.VectorKind.Scalar || column.ItemType != NumberDataViewType.Int32)
            throw host.ExceptSchemaMismatch(nameof(schema), "input", name, ExpectedIdVector, column.GetTypeString());
    }

    public static int RequireIds(IExceptionContext host, DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw host.ExceptSchemaMismatch(nameof(schema), "input", name);
        if (column.Type is not VectorDataViewType { ItemType: var item } || item != NumberDataViewType.Int32)
            throw host.ExceptSchemaMismatch(nameof(schema), "input", name, ExpectedIdVector, column.Type.ToString());
        return column.Index;
    }
}
