using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Transforms;

/// <summary>Catalog methods of this library under <c>mlContext.Transforms.Text</c>.</summary>
public static class TextCatalogExtensions
{
    /// <summary>
    /// Tokenizes the text column <paramref name="inputColumnName"/> into subword ids with
    /// <paramref name="tokenizer"/>. Writes <paramref name="outputColumnName"/> (token ids),
    /// <c>{output}.AttentionMask</c>, <c>{output}.WordIds</c> and <c>{output}.SegmentIds</c>, each a
    /// variable-length vector of Int32 (padding is left to the batcher).
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="outputColumnName">Name of the token-id column; the other columns are named after it.</param>
    /// <param name="inputColumnName">The text column (String).</param>
    /// <param name="tokenizer">The vocabulary and its special tokens.</param>
    /// <param name="maxLength">Most tokens per row, [CLS] and [SEP] included.</param>
    /// <param name="pairColumnName">A second text column for sentence pairs, or null.</param>
    public static TokenizeSubwordsEstimator TokenizeSubwords(this TransformsCatalog.TextTransforms catalog,
        string outputColumnName, string inputColumnName, TextTokenizer tokenizer, int maxLength = 512, string? pairColumnName = null) =>
        TokenizeSubwords(catalog, tokenizer, new TokenizeSubwordsOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            MaxLength = maxLength,
            PairColumnName = pairColumnName,
        });

    /// <summary>Tokenizes a text column into subword ids, with every option of <see cref="TokenizeSubwordsOptions"/>.</summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="tokenizer">The vocabulary and its special tokens.</param>
    /// <param name="options">Columns, length, truncation and padding.</param>
    public static TokenizeSubwordsEstimator TokenizeSubwords(this TransformsCatalog.TextTransforms catalog,
        TextTokenizer tokenizer, TokenizeSubwordsOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TokenizeSubwordsEstimator(catalog.GetEnvironment(), tokenizer, options);
    }
}
