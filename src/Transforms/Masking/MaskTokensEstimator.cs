using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Pipelines;

/// <summary>
/// Estimator of <see cref="MaskTokensTransformer"/>: fitting only checks the schema. Create it with
/// <c>mlContext.Transforms.Text.MaskTokens</c>.
/// </summary>
public sealed class MaskTokensEstimator : IEstimator<MaskTokensTransformer>
{
    private readonly IHost _host;
    private readonly string _output, _input;
    private readonly string? _wordIds;
    private readonly TextTokenizer _tokenizer;
    private readonly MaskingOptions _options;
    private readonly int _seed;

    internal MaskTokensEstimator(IHostEnvironment env, string output, string input, TextTokenizer tokenizer, string? wordIds, MaskingOptions? options, int? seed)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(MaskTokensEstimator));
        ArgumentException.ThrowIfNullOrEmpty(output);
        ArgumentException.ThrowIfNullOrEmpty(input);
        ArgumentNullException.ThrowIfNull(tokenizer);
        (_output, _input, _wordIds, _tokenizer) = (output, input, wordIds, tokenizer);
        _options = (options ?? new MaskingOptions()).Copy();
        _ = new MlmMasker(tokenizer, _options); // validates the options and the vocabulary now, not at Fit
        if (_options.Strategy == MaskingStrategy.WholeWord && wordIds is null)
            throw new ArgumentException("Whole-word masking needs a word-id column.", nameof(wordIds));
        // ML.NET's convention: without an explicit seed, the MLContext's seed decides.
        _seed = seed ?? _host.Rand.Next();
    }

    /// <summary>Checks the id (and word-id) columns and adds the masked-id and label columns.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ColumnChecks.RequireIds(_host, inputSchema, _input);
        if (_wordIds is not null) ColumnChecks.RequireIds(_host, inputSchema, _wordIds);
        var columns = inputSchema.ToDictionary(c => c.Name);
        foreach (var name in new[] { _output, MaskTokensTransformer.LabelsColumn(_output) })
            columns[name] = new SchemaShape.Column(name, SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Int32, false);
        return new SchemaShape(columns.Values);
    }

    /// <summary>Checks the schema of <paramref name="input"/> and returns the transformer.</summary>
    public MaskTokensTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShape.Create(input.Schema));
        return new MaskTokensTransformer(_host, _output, _input, _wordIds, _tokenizer.MaskId!.Value, _tokenizer.VocabSize, _tokenizer.SpecialIds, _options, _seed);
    }
}
