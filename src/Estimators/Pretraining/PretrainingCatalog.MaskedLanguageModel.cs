using Pipelines;

namespace Microsoft.ML;

public sealed partial class PretrainingCatalog
{
    /// <summary>A BERT style masked language model pretrained on a column of token ids.</summary>
    public MaskedLanguageModelEstimator MaskedLanguageModel(MaskedLanguageModelOptions options) =>
        new(_env, options ?? throw new ArgumentNullException(nameof(options)));

    /// <summary>A BERT style masked language model pretrained on <paramref name="tokenColumnName"/>, with default options otherwise.</summary>
    public MaskedLanguageModelEstimator MaskedLanguageModel(string tokenColumnName, TextTokenizer tokenizer, int maxSteps = 1000) =>
        MaskedLanguageModel(new MaskedLanguageModelOptions { TokenColumnName = tokenColumnName, Tokenizer = tokenizer, MaxSteps = maxSteps });

}
