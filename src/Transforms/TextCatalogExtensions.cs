using Microsoft.ML.Data;

using Pipelines;

namespace Microsoft.ML;

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

    /// <summary>
    /// Trains a WordPiece vocabulary on the text column while fitting, then tokenizes with it like
    /// <see cref="TokenizeSubwords(TransformsCatalog.TextTransforms, string, string, TextTokenizer, int, string?)"/>.
    /// The vocabulary is saved with the model.
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="outputColumnName">Name of the token-id column; the other columns are named after it.</param>
    /// <param name="inputColumnName">The text column (String) to train on and tokenize.</param>
    /// <param name="vocabularySize">Target vocabulary size, special tokens included.</param>
    /// <param name="maxLength">Most tokens per row, [CLS] and [SEP] included.</param>
    public static TrainWordPieceEstimator TrainWordPiece(this TransformsCatalog.TextTransforms catalog,
        string outputColumnName, string inputColumnName, int vocabularySize = 8000, int maxLength = 512) =>
        TrainWordPiece(catalog, new TokenizeSubwordsOptions { OutputColumnName = outputColumnName, InputColumnName = inputColumnName, MaxLength = maxLength },
            new WordPieceTrainerOptions { VocabularySize = vocabularySize });

    /// <summary>Trains a WordPiece vocabulary while fitting, with every tokenization and training option.</summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="options">Columns, length, truncation and padding of the tokenization.</param>
    /// <param name="trainer">Vocabulary size, minimum frequency, casing, accents and special tokens.</param>
    public static TrainWordPieceEstimator TrainWordPiece(this TransformsCatalog.TextTransforms catalog,
        TokenizeSubwordsOptions options, WordPieceTrainerOptions trainer)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TrainWordPieceEstimator(catalog.GetEnvironment(), options, trainer);
    }

    /// <summary>
    /// Masks a token-id column for masked-LM with BERT's rule (or whole-word / span masking):
    /// writes masked ids to <paramref name="outputColumnName"/> and labels (the original id where a
    /// token was chosen, -100 elsewhere) to <c>{output}.Labels</c>. Deterministic for a seed.
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="outputColumnName">The masked-id column.</param>
    /// <param name="inputColumnName">The token-id column (vector of Int32, e.g. from TokenizeSubwords).</param>
    /// <param name="tokenizer">The vocabulary (its [MASK] id, size and special ids).</param>
    /// <param name="options">Probabilities and strategy; BERT's by default.</param>
    /// <param name="wordIdsColumnName">The word-id column, required for whole-word masking.</param>
    /// <param name="seed">Seed of the masking; by default drawn from the MLContext's seed.</param>
    public static MaskTokensEstimator MaskTokens(this TransformsCatalog.TextTransforms catalog, string outputColumnName, string inputColumnName,
        TextTokenizer tokenizer, MaskingOptions? options = null, string? wordIdsColumnName = null, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new MaskTokensEstimator(catalog.GetEnvironment(), outputColumnName, inputColumnName, tokenizer, wordIdsColumnName, options, seed);
    }
}
