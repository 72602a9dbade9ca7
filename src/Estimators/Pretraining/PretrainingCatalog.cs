using Microsoft.ML.Runtime;
using Pipelines;

namespace Microsoft.ML;

/// <summary>Self-supervised pretraining estimators, reached as <c>mlContext.Pretraining</c>.</summary>
public sealed partial class PretrainingCatalog
{
    private readonly IHostEnvironment _env;

    internal PretrainingCatalog(IHostEnvironment env) => _env = env;

    /// <summary>A GPT-2 style causal language model pretrained on a column of token ids.</summary>
    public CausalLanguageModelEstimator CausalLanguageModel(CausalLanguageModelOptions options) =>
        new(_env, options ?? throw new ArgumentNullException(nameof(options)));

    /// <summary>A GPT-2 style causal language model pretrained on <paramref name="tokenColumnName"/>, with default options otherwise.</summary>
    public CausalLanguageModelEstimator CausalLanguageModel(string tokenColumnName, TextTokenizer tokenizer, int maxSteps = 1000) =>
        CausalLanguageModel(new CausalLanguageModelOptions { TokenColumnName = tokenColumnName, Tokenizer = tokenizer, MaxSteps = maxSteps });
}

/// <summary>Adds <c>mlContext.Pretraining</c>.</summary>
public static class PretrainingCatalogExtensions
{
    extension(MLContext mlContext)
    {
        /// <summary>Self-supervised pretraining of transformer language models.</summary>
        public PretrainingCatalog Pretraining => new(mlContext);
    }
}
