using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines;

/// <summary>
/// The annotation TokenizeSubwords puts on the token-id column it writes: the fitted tokenization
/// itself (tokenizer, maximum length, text columns). Components further down the pipeline read the
/// tokenizer and the maximum length from it, so nobody passes them twice, and tokenize raw-text
/// validation data with it. A token column made any other way has no such annotation; then the
/// component's options must name the tokenizer.
/// </summary>
public static class TokenizationAnnotation
{
    /// <summary>The annotation's name on the token column.</summary>
    public const string Name = "Pipelines.Tokenization";

    /// <summary>The tokenization that wrote <paramref name="tokenColumn"/>, or null when the column has none.</summary>
    public static TokenizeSubwordsTransformer? Get(DataViewSchema.Column tokenColumn)
    {
        var annotation = tokenColumn.Annotations.Schema.GetColumnOrNull(Name);
        if (annotation?.Type is not TokenizationDataViewType) return null;
        TokenizeSubwordsTransformer value = null!;
        tokenColumn.Annotations.GetValue(Name, ref value);
        return value;
    }

    /// <summary>True when the (not yet fitted) schema says <paramref name="tokenColumn"/> will carry the annotation.</summary>
    public static bool IsDeclared(SchemaShape.Column tokenColumn) =>
        tokenColumn.Annotations.TryFindColumn(Name, out var annotation) && annotation.ItemType is TokenizationDataViewType;

    internal static DataViewSchema.Annotations Build(TokenizeSubwordsTransformer tokenization)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(Name, TokenizationDataViewType.Instance, (ref TokenizeSubwordsTransformer value) => value = tokenization);
        return builder.ToAnnotations();
    }

    internal static SchemaShape Shape { get; } = new(
    [
        new SchemaShape.Column(Name, SchemaShape.Column.VectorKind.Scalar, TokenizationDataViewType.Instance, isKey: false),
    ]);
}

/// <summary>The type of the <see cref="TokenizationAnnotation"/>: an object annotation holding a <see cref="TokenizeSubwordsTransformer"/>.</summary>
public sealed class TokenizationDataViewType : StructuredDataViewType
{
    /// <summary>The one instance.</summary>
    public static TokenizationDataViewType Instance { get; } = new();

    private TokenizationDataViewType() : base(typeof(TokenizeSubwordsTransformer)) { }

    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) => other is TokenizationDataViewType;

    /// <inheritdoc/>
    public override int GetHashCode() => typeof(TokenizationDataViewType).GetHashCode();

    /// <inheritdoc/>
    public override string ToString() => "Tokenization";
}
