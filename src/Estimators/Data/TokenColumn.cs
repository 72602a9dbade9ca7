using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models;

namespace Pipelines;

/// <summary>
/// What a trainer knows about its token column: the tokenizer and maximum length that wrote it,
/// read from the column's <see cref="TokenizationAnnotation"/> (TokenizeSubwords records them) or
/// taken from the trainer's options, and the tokenization itself, which turns raw-text validation
/// data into the columns the trainer reads.
/// </summary>
internal sealed record TokenColumn(string Name, TextTokenizer Tokenizer, int MaxLength, TokenizeSubwordsTransformer? Tokenization)
{
    /// <summary>The maximum length when neither the options nor the token column give one.</summary>
    public const int DefaultMaxLength = 128;

    /// <summary>
    /// Before data: <paramref name="column"/> must be a vector of Int32 and its tokenizer must be known,
    /// from the options or a base model (<paramref name="given"/>) or from the annotation TokenizeSubwords
    /// will put on it. <paramref name="options"/> names the trainer's options type, for messages.
    /// </summary>
    public static void Check(SchemaShape schema, string column, bool given, string options)
    {
        TokenSequences.CheckColumn(schema, column);
        schema.TryFindColumn(column, out var found);
        if (!given && !TokenizationAnnotation.IsDeclared(found))
            throw MissingTokenizer(column, options);
    }

    /// <summary>
    /// Reads the column's tokenization from <paramref name="schema"/>. The tokenizer of the options
    /// (<paramref name="option"/>), else of the base model (<paramref name="fromBase"/>, called
    /// <paramref name="baseModel"/> in messages), wins over the column's, but must be the tokenizer that
    /// wrote the column when the column says which one did. <paramref name="maxLength"/> above 0 wins
    /// over the column's maximum length. <paramref name="options"/> names the options type, for messages.
    /// </summary>
    public static TokenColumn Resolve(DataViewSchema schema, string column, TextTokenizer? option, TextTokenizer? fromBase, string baseModel,
        int maxLength, string options)
    {
        var tokenization = TokenizationAnnotation.Get(TokenSequences.CheckColumn(schema, column));
        if (option is not null && fromBase is not null && option.Fingerprint != fromBase.Fingerprint)
            throw new ArgumentException($"{TokenizerOption(options)} is not the tokenizer the {baseModel} ({options}.Base) was trained with " +
                                        "(their vocabularies differ): leave it unset, the model's own is used.");
        var given = option ?? fromBase;
        var tokenizer = given ?? tokenization?.Tokenizer ?? throw MissingTokenizer(column, options);
        if (given is not null && tokenization is not null && given.Fingerprint != tokenization.Tokenizer.Fingerprint)
            throw new ArgumentException(
                $"Column '{column}' was written by another tokenizer than {(option is not null ? TokenizerOption(options) : $"the {baseModel}'s ({options}.Base)")} " +
                "(their vocabularies differ): token ids would mean other tokens to the model. Tokenize with the same tokenizer" +
                (option is not null ? ", or leave the option unset to use the column's." : "."));
        return new(column, tokenizer, maxLength > 0 ? maxLength : tokenization?.MaxLength ?? DefaultMaxLength, tokenization);
    }

    /// <summary>
    /// What a checkpoint of a model trained on this column must match to be resumed: the
    /// architecture and the tokenizer (a tokenizer of the same size would otherwise load silently).
    /// </summary>
    public string CheckpointIdentity(TransformerConfig config) => CheckpointIdentity(config, Tokenizer);

    /// <summary>As <see cref="CheckpointIdentity(TransformerConfig)"/>, for a model trained on text tokenized by <paramref name="tokenizer"/>.</summary>
    public static string CheckpointIdentity(TransformerConfig config, TextTokenizer tokenizer) => $"{config.ToJson()}\ntokenizer {tokenizer.Fingerprint}";

    /// <summary>The Tokenizer option of the options type <paramref name="options"/>, as messages name it.</summary>
    public static string TokenizerOption(string options) => $"{options}.Tokenizer";

    /// <summary>
    /// Separate validation data as the trainer reads it: as given when it has the token column, else
    /// raw text that this column's tokenization turns into tokens. Then every column in
    /// <paramref name="required"/> must be there.
    /// </summary>
    public IDataView Prepare(IDataView validation, params string?[] required)
    {
        if (validation.Schema.GetColumnOrNull(Name) is null && Tokenization is { } tokenization
            && validation.Schema.GetColumnOrNull(tokenization.InputColumnName) is not null)
            validation = tokenization.Transform(validation);
        foreach (var column in required.Prepend(Name))
            if (column is not null && validation.Schema.GetColumnOrNull(column) is null)
                throw new ArgumentException(Tokenization is { } t
                    ? $"{nameof(TrainingOptions.ValidationSet)} has no column '{column}'. It may hold raw text in '{t.InputColumnName}' " +
                      $"(tokenized like the training data) or the token columns themselves."
                    : $"{nameof(TrainingOptions.ValidationSet)} has no column '{column}'. The training data's '{Name}' was not written by " +
                      "TokenizeSubwords, so raw text cannot be tokenized here: transform the validation data like the training data first.");
        return validation;
    }

    private static ArgumentException MissingTokenizer(string column, string options) => new(
        $"Column '{column}' does not say which tokenizer wrote it (TokenizeSubwords records that on the column): set {TokenizerOption(options)}.");
}
