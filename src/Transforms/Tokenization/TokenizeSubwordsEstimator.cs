using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Pipelines;

/// <summary>
/// Estimator of <see cref="TokenizeSubwordsTransformer"/> with a given tokenizer: fitting only
/// checks the schema. Create it with <c>mlContext.Transforms.Text.TokenizeSubwords</c>.
/// </summary>
public sealed class TokenizeSubwordsEstimator : IEstimator<TokenizeSubwordsTransformer>
{
    private readonly IHost _host;
    private readonly TextTokenizer _tokenizer;
    private readonly TokenizeSubwordsOptions _options;

    internal TokenizeSubwordsEstimator(IHostEnvironment env, TextTokenizer tokenizer, TokenizeSubwordsOptions options)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(TokenizeSubwordsEstimator));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Copy();
    }

    /// <summary>Checks the input columns and returns the schema with the four output columns.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => OutputSchema(_host, _options, inputSchema);

    /// <summary>Checks the schema of <paramref name="input"/> and returns the transformer.</summary>
    public TokenizeSubwordsTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShape.Create(input.Schema));
        return new TokenizeSubwordsTransformer(_host, _tokenizer, _options);
    }

    internal static SchemaShape OutputSchema(IHost host, TokenizeSubwordsOptions options, SchemaShape inputSchema)
    {
        ColumnChecks.RequireText(host, inputSchema, options.InputColumnName);
        if (options.PairColumnName is { } pair) ColumnChecks.RequireText(host, inputSchema, pair);
        var columns = inputSchema.ToDictionary(c => c.Name);
        var kind = options.PadToMaxLength ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.VariableVector;
        var output = options.OutputColumnName;
        foreach (var name in new[] { output, TokenizeSubwordsOptions.AttentionMaskColumn(output), TokenizeSubwordsOptions.WordIdsColumn(output), TokenizeSubwordsOptions.SegmentIdsColumn(output) })
            columns[name] = new SchemaShape.Column(name, kind, NumberDataViewType.Int32, false, name == output ? TokenizationAnnotation.Shape : null);
        return new SchemaShape(columns.Values);
    }
}
