using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Pipelines;

/// <summary>
/// Trains a WordPiece vocabulary on the text column during <see cref="Fit"/> and returns the
/// <see cref="TokenizeSubwordsTransformer"/> that uses it (the vocabulary is saved with the model).
/// Create it with <c>mlContext.Transforms.Text.TrainWordPiece</c>.
/// </summary>
public sealed class TrainWordPieceEstimator : IEstimator<TokenizeSubwordsTransformer>
{
    private readonly IHost _host;
    private readonly TokenizeSubwordsOptions _options;
    private readonly WordPieceTrainerOptions _trainer;

    internal TrainWordPieceEstimator(IHostEnvironment env, TokenizeSubwordsOptions options, WordPieceTrainerOptions trainer)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(TrainWordPieceEstimator));
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(trainer);
        options.Validate();
        trainer.Validate();
        _options = options.Copy();
        _trainer = trainer;
    }

    /// <summary>Checks the input columns and returns the schema with the tokenization's four output columns.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => TokenizeSubwordsEstimator.OutputSchema(_host, _options, inputSchema);

    /// <summary>Trains the vocabulary on every row's text (and pair text, if any) and returns the tokenization transformer.</summary>
    public TokenizeSubwordsTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShape.Create(input.Schema));
        var clock = Stopwatch.StartNew();
        var texts = Texts(input, _options.InputColumnName);
        if (_options.PairColumnName is { } pair) texts = texts.Concat(Texts(input, pair));
        var rows = 0L;
        var vocabulary = WordPieceTrainer.Train(texts.Select(t => { rows++; return t; }), _trainer);
        var tokenizer = TextTokenizer.FromWordPieceVocab(vocabulary, _trainer.LowerCase, _trainer.StripAccents ?? _trainer.LowerCase);
        using (var channel = _host.Start("TrainWordPiece"))
            channel.Info($"TrainWordPiece '{_options.InputColumnName}': {vocabulary.Count} pieces from {rows} texts in {clock.Elapsed.TotalSeconds:F1} s.");
        return new TokenizeSubwordsTransformer(_host, tokenizer, _options);
    }

    private static IEnumerable<string> Texts(IDataView data, string column)
    {
        using var cursor = data.GetRowCursor([data.Schema[column]]);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(data.Schema[column]);
        ReadOnlyMemory<char> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            yield return value.ToString();
        }
    }
}
