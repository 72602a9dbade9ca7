using Microsoft.ML;
using Microsoft.ML.Data;

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
    /// from <paramref name="given"/> or from the annotation TokenizeSubwords will put on it.
    /// </summary>
    public static void Check(SchemaShape schema, string column, bool given, string tokenizerOption)
    {
        TokenSequences.CheckColumn(schema, column);
        schema.TryFindColumn(column, out var found);
        if (!given && !TokenizationAnnotation.IsDeclared(found))
            throw MissingTokenizer(column, tokenizerOption);
    }

    /// <summary>
    /// Reads the column's tokenization from <paramref name="schema"/>. <paramref name="given"/> (the
    /// options' or a pretrained model's tokenizer, described by <paramref name="givenBy"/>) wins, but
    /// must be the tokenizer that wrote the column when the column says which one did.
    /// <paramref name="maxLength"/> above 0 wins over the column's maximum length.
    /// </summary>
    public static TokenColumn Resolve(DataViewSchema schema, string column, TextTokenizer? given, string givenBy, int maxLength, string tokenizerOption)
    {
        var tokenization = TokenizationAnnotation.Get(TokenSequences.CheckColumn(schema, column));
        var tokenizer = given ?? tokenization?.Tokenizer ?? throw MissingTokenizer(column, tokenizerOption);
        if (given is not null && tokenization is not null && given.Fingerprint != tokenization.Tokenizer.Fingerprint)
            throw new ArgumentException(
                $"Column '{column}' was written by another tokenizer than {givenBy} (their vocabularies differ): token ids would mean other " +
                "tokens to the model. Tokenize with the same tokenizer" + (givenBy.StartsWith(tokenizerOption, StringComparison.Ordinal) ? ", or leave the option unset to use the column's." : "."));
        return new(column, tokenizer, maxLength > 0 ? maxLength : tokenization?.MaxLength ?? DefaultMaxLength, tokenization);
    }

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

    private static ArgumentException MissingTokenizer(string column, string tokenizerOption) => new(
        $"Column '{column}' does not say which tokenizer wrote it (TokenizeSubwords records that on the column): set {tokenizerOption}.");
}
