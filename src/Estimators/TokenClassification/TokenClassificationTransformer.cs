using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

[assembly: LoadableClass(typeof(TokenClassificationTransformer), null, typeof(SignatureLoadModel),
    "Transformer token classifier", TokenClassificationTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(TokenClassificationTransformer), null, typeof(SignatureLoadRowMapper),
    "Transformer token classifier", TokenClassificationTransformer.LoaderSignature)]

namespace Pipelines;

/// <summary>
/// A fine-tuned transformer tagger: adds a column with the predicted tag of every word of the
/// sentence (vector of String, as long as the sentence has words; words past the maximum length
/// are tagged O), in the scheme (IOB1 or IOB2) of the tags it was trained on. Saves into ML.NET
/// model zips.
/// </summary>
public sealed class TokenClassificationTransformer : RowToRowTransformerBase, IDisposable, ITrainedTransformer
{
    internal const string LoaderSignature = "PipelinesTokenClassifier";
    private readonly string _tokenColumn;
    private readonly string _wordIdsColumn;
    private readonly string _sentenceColumn;
    private readonly string _outputColumn;
    private readonly string[] _tagNames;
    private readonly bool _iob1;
    private readonly int _padId;
    private readonly int _maxLength;

    /// <summary>The tagger (in eval mode; LoRA adapters merged).</summary>
    public BertForTokenClassification Model => _model.Model;

    private readonly ModelOwnership<BertForTokenClassification> _model;
    /// <summary>The tags the model predicts (IOB2), in class-index order.</summary>
    public IReadOnlyList<string> TagNames => _tagNames;
    /// <summary>True when predictions are written in IOB1 (because the training tags were).</summary>
    public bool WritesIob1 => _iob1;
    /// <summary>How the training run went; null for a model loaded from a zip.</summary>
    public TrainingResult? Training { get; }

    internal TokenClassificationTransformer(IHost host, TokenClassifierOptions options, string[] tagNames, bool iob1, int padId, int maxLength,
        BertForTokenClassification model, TrainingResult? training)
        : this(host, options.TokenColumnName, options.WordIdsColumn, options.SentenceColumnName, options.PredictionColumnName,
            tagNames, iob1, padId, maxLength, model, training)
    {
    }

    private TokenClassificationTransformer(IHost host, string tokenColumn, string wordIdsColumn, string sentenceColumn, string outputColumn,
        string[] tagNames, bool iob1, int padId, int maxLength, BertForTokenClassification model, TrainingResult? training) : base(host)
    {
        (_tokenColumn, _wordIdsColumn, _sentenceColumn, _outputColumn) = (tokenColumn, wordIdsColumn, sentenceColumn, outputColumn);
        (_tagNames, _iob1, _padId, _maxLength) = (tagNames, iob1, padId, maxLength);
        Training = training;
        _model = new ModelOwnership<BertForTokenClassification>(model, nameof(TokenClassificationTransformer));
        Model.eval();
    }

    /// <summary>
    /// The tag of each of <paramref name="words"/> words from the tokens of a sentence and their
    /// word ids: the prediction at each word's first token; words without a token are O.
    /// </summary>
    public string[] PredictTags(int[] tokens, int[] wordIds, int words)
    {
        var tags = Enumerable.Repeat(EntityTags.Outside, words).ToArray();
        var length = Math.Min(tokens.Length, _maxLength);
        if (length == 0 || words == 0) return tags;
        int[] best;
        using (NewDisposeScope())
        using (no_grad())
        {
            var device = Model.parameters().First().device;
            var ids = tensor(tokens[..length].Select(i => (long)i).ToArray()).unsqueeze(0).to(device);
            best = Model.Forward(ids)[0].argmax(-1).to(ScalarType.Int32).cpu().data<int>().ToArray();
        }
        var previous = -1;
        for (var t = 0; t < length; t++)
        {
            var word = wordIds[t];
            if (word >= 0 && word != previous && word < words) tags[word] = _tagNames[best[t]];
            previous = word;
        }
        // The model predicts IOB2; repair stray I- tags, then write the training scheme.
        return _iob1 ? EntityTags.ToIob1(tags) : EntityTags.ToIob2(tags);
    }

    private static VersionInfo GetVersionInfo() => ModelStreams.Version("PLTOKCLS", LoaderSignature, typeof(TokenClassificationTransformer));

    /// <inheritdoc/>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.SetVersionInfo(GetVersionInfo());
        foreach (var name in new[] { _tokenColumn, _wordIdsColumn, _sentenceColumn, _outputColumn }) ctx.SaveNonEmptyString(name);
        ctx.Writer.Write(_tagNames.Length);
        foreach (var name in _tagNames) ctx.SaveNonEmptyString(name);
        ctx.Writer.Write(_iob1);
        ctx.Writer.Write(_padId);
        ctx.Writer.Write(_maxLength);
        ModelStreams.SaveConfig(ctx, Model.Bert.Config);
        ModelStreams.SaveWeights(ctx, Model);
    }

    private static TokenClassificationTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var host = env.Register(nameof(TokenClassificationTransformer));
        var (tokens, wordIds, sentence, output) = (ctx.LoadNonEmptyString(), ctx.LoadNonEmptyString(), ctx.LoadNonEmptyString(), ctx.LoadNonEmptyString());
        var count = ctx.Reader.ReadInt32();
        if (count is < 2 or > 100_000) throw new InvalidDataException($"Token classifier zip entry declares {count} tags.");
        var names = Enumerable.Range(0, count).Select(_ => ctx.LoadNonEmptyString()).ToArray();
        var iob1 = ctx.Reader.ReadBoolean();
        var (padId, maxLength) = (ctx.Reader.ReadInt32(), ctx.Reader.ReadInt32());
        var config = ModelStreams.LoadConfig(ctx);
        var model = new BertForTokenClassification(config, count);
        ModelStreams.LoadWeights(host, ctx, model, "Token classifier (loaded)");
        return new TokenClassificationTransformer(host, tokens, wordIds, sentence, output, names, iob1, padId, maxLength, model, null);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).MakeRowMapper(inputSchema);

    /// <inheritdoc/>
    protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

    /// <summary>Releases the model's native memory.</summary>
    public void Dispose() => _model.Dispose();

    private sealed class Mapper(TokenClassificationTransformer parent, DataViewSchema schema)
        : MapperBase(parent.Host.Register(nameof(Mapper)), schema, parent)
    {
        private readonly int _tokens = TokenSequences.CheckColumn(schema, parent._tokenColumn).Index;
        private readonly int _wordIds = TokenSequences.CheckColumn(schema, parent._wordIdsColumn).Index;
        private readonly int _sentence = schema.GetColumnOrNull(parent._sentenceColumn)?.Index
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{parent._sentenceColumn}'");

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() =>
            [new(parent._outputColumn, new VectorDataViewType(TextDataViewType.Instance))];

        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action disposer)
        {
            disposer = () => { };
            var tokens = input.GetGetter<VBuffer<int>>(input.Schema[_tokens]);
            var wordIds = input.GetGetter<VBuffer<int>>(input.Schema[_wordIds]);
            var sentence = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[_sentence]);
            VBuffer<int> ids = default, words = default;
            ReadOnlyMemory<char> text = default;
            return (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> value) =>
            {
                tokens(ref ids);
                wordIds(ref words);
                sentence(ref text);
                var tags = parent.PredictTags(ids.DenseValues().ToArray(), words.DenseValues().ToArray(), TaggedRows.CountWords(text.Span));
                new VBuffer<ReadOnlyMemory<char>>(tags.Length, tags.Select(t => t.AsMemory()).ToArray()).CopyTo(ref value);
            });
        }

        protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput) =>
            column => column == _tokens || column == _wordIds || column == _sentence;

        protected override void SaveModel(ModelSaveContext ctx) => parent.SaveModel(ctx);
    }
}
