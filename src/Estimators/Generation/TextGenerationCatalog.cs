using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;

namespace Microsoft.ML;

/// <summary>Generation fine-tuning and its evaluation, reached as <c>mlContext.TextGeneration</c>.</summary>
public sealed class TextGenerationCatalog
{
    private readonly IHostEnvironment _env;

    internal TextGenerationCatalog(IHostEnvironment env) => _env = env;

    /// <summary>Fine-tunes a causal language model to answer prompts with responses (loss on the responses only).</summary>
    public TextGenerationEstimator FineTune(TextGeneratorOptions options) => new(_env, options ?? throw new ArgumentNullException(nameof(options)));

    /// <summary>
    /// ROUGE-L and BLEU of the generated texts in <paramref name="generatedColumnName"/> against the
    /// references in <paramref name="labelColumnName"/> (both String); rows whose reference is empty are not measured.
    /// </summary>
    public GenerationMetrics Evaluate(IDataView data, string labelColumnName = "Response", string generatedColumnName = "GeneratedText")
    {
        ArgumentNullException.ThrowIfNull(data);
        TextColumns.Check(data.Schema, labelColumnName);
        TextColumns.Check(data.Schema, generatedColumnName);
        var references = data.GetColumn<ReadOnlyMemory<char>>(labelColumnName).Select(t => t.ToString()).ToList();
        var generated = data.GetColumn<ReadOnlyMemory<char>>(generatedColumnName).Select(t => t.ToString()).ToList();
        var kept = Enumerable.Range(0, references.Count).Where(i => !string.IsNullOrWhiteSpace(references[i])).ToList();
        return GenerationMetrics.Compute(kept.Select(i => generated[i]).ToList(), kept.Select(i => references[i]).ToList());
    }
}

/// <summary>Adds <c>mlContext.TextGeneration</c>.</summary>
public static class TextGenerationCatalogExtensions
{
    extension(MLContext mlContext)
    {
        /// <summary>Generation fine-tuning of causal language models, and ROUGE-L / BLEU evaluation.</summary>
        public TextGenerationCatalog TextGeneration => new(mlContext);
    }
}
