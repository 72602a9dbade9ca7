using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Onnx;
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
public sealed class TokenClassificationTransformer : ModelTransformerBase<BertForTokenClassification>
{
    internal const string LoaderSignature = "PipelinesTokenClassifier";
    private readonly string _tokenColumn;
    private readonly string _wordIdsColumn;
    private readonly string _sentenceColumn;
    private readonly string _outputColumn;
    private readonly string? _entitiesColumn;
    private readonly string[] _tagNames;
    private readonly bool _iob1;
    private readonly int _padId;
    private readonly int _maxLength;

    /// <summary>The tags the model predicts (IOB2), in class-index order.</summary>
    public IReadOnlyList<string> TagNames => _tagNames;
    /// <summary>True when predictions are written in IOB1 (because the training tags were).</summary>
    public bool WritesIob1 => _iob1;
    /// <summary>
    /// How tag scores become tags: constrained to valid sequences (the default; with a CRF, its Viterbi
    /// path with the learned transitions) or word by word. It may
    /// be changed on a trained tagger (to compare the two on the same weights); the zip keeps the current one.
    /// </summary>
    public TagDecoding Decoding
    {
        get => _decoding;
        set => _decoding = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Not a TagDecoding.");
    }

    private TagDecoding _decoding;

    internal TokenClassificationTransformer(IHost host, TokenClassifierOptions options, string[] tagNames, bool iob1, int padId, int maxLength,
        BertForTokenClassification model, TrainingResult? training)
        : this(host, options.TokenColumnName, options.WordIdsColumn, options.SentenceColumnName, options.PredictionColumnName,
            tagNames, iob1, padId, maxLength, options.Decoding, options.EntitiesColumnName, model, training)
    {
    }

    private TokenClassificationTransformer(IHost host, string tokenColumn, string wordIdsColumn, string sentenceColumn, string outputColumn,
        string[] tagNames, bool iob1, int padId, int maxLength, TagDecoding decoding, string? entitiesColumn, BertForTokenClassification model,
        TrainingResult? training)
        : base(host, model, nameof(TokenClassificationTransformer), training)
    {
        (_decoding, _entitiesColumn) = (decoding, entitiesColumn);
        (_tokenColumn, _wordIdsColumn, _sentenceColumn, _outputColumn) = (tokenColumn, wordIdsColumn, sentenceColumn, outputColumn);
        (_tagNames, _iob1, _padId, _maxLength) = (tagNames, iob1, padId, maxLength);
    }

    /// <summary>
    /// The tag of each of <paramref name="words"/> words from the tokens of a sentence and their
    /// word ids: decoded (<see cref="Decoding"/>) from the scores at each word's first token; words without a token are O.
    /// </summary>
    public string[] PredictTags(int[] tokens, int[] wordIds, int words) => PredictTags([new TaggerInput(tokens, wordIds, words, "")])[0].Tags;

    /// <summary>
    /// The entities of a sentence from its tokens and their word ids (as TokenizeSubwords writes them), as
    /// Hugging Face's aggregated NER pipeline gives them: type, words, word span and score (the mean
    /// probability of the entity's words' tags).
    /// </summary>
    public IReadOnlyList<TaggedEntity> PredictEntities(int[] tokens, int[] wordIds, string sentence) =>
        TaggedEntity.Of(PredictTags([new TaggerInput(tokens, wordIds, TaggedRows.CountWords(sentence), sentence)])[0], sentence);

    private TaggedWords[] PredictTags(IReadOnlyList<TaggerInput> rows)
    {
        var tags = rows.Select(r => Enumerable.Repeat(EntityTags.Outside, r.Words).ToArray()).ToArray();
        var scores = rows.Select(r => Enumerable.Repeat(1f, r.Words).ToArray()).ToArray();
        var scored = Enumerable.Range(0, rows.Count).Where(i => rows[i].Tokens.Length > 0 && rows[i].Words > 0).ToArray();
        if (scored.Length == 0) return Results();
        var tokens = scored.Select(i => TokenBatch.Cut(rows[i].Tokens, _maxLength)).ToArray();
        float[] logProbabilities;
        long width;
        var k = _tagNames.Length;
        using (NewDisposeScope())
        using (no_grad())
        {
            var (ids, mask) = TokenBatch.Pad(tokens, _padId, Device);
            logProbabilities = nn.functional.log_softmax(Model.Forward(ids, mask).to(ScalarType.Float32), -1).cpu().data<float>().ToArray(); // (B, T, K)
            width = ids.shape[1];
        }
        // A CRF's best path is the same through log-probabilities as through the raw scores (they differ by a constant per word).
        Func<IReadOnlyList<float[]>, int[]> decode = Decoding == TagDecoding.Independent ? w => w.Select(s => Array.IndexOf(s, s.Max())).ToArray()
            : Model.Crf?.Decoder() ?? (w => TagDecoder.Viterbi(w, _tagNames));
        for (var j = 0; j < scored.Length; j++)
        {
            // Each word is read at its first token.
            var (row, previous) = (rows[scored[j]], -1);
            var words = new List<(int Word, float[] Scores)>();
            for (var t = 0; t < tokens[j].Length; t++)
            {
                var word = row.WordIds[t];
                if (word >= 0 && word != previous && word < row.Words)
                    words.Add((word, logProbabilities.AsSpan((int)((j * width + t) * k), k).ToArray()));
                previous = word;
            }
            var best = decode(words.Select(w => w.Scores).ToList());
            for (var i = 0; i < words.Count; i++)
                (tags[scored[j]][words[i].Word], scores[scored[j]][words[i].Word]) = (_tagNames[best[i]], MathF.Exp(words[i].Scores[best[i]]));
            // The model predicts IOB2 (independent decoding may leave stray I- tags, read as openings); write the training scheme.
            tags[scored[j]] = _iob1 ? EntityTags.ToIob1(tags[scored[j]]) : EntityTags.ToIob2(tags[scored[j]]);
        }
        return Results();

        TaggedWords[] Results() => tags.Select((t, i) => new TaggedWords(t, scores[i])).ToArray();
    }

    /// <summary>
    /// Writes this tagger as a Hugging Face model directory that transformers loads with
    /// <c>AutoModelForTokenClassification.from_pretrained</c> (and its "ner" pipeline reads): BertForTokenClassification
    /// or RoBERTa's, id2label/label2id from <see cref="TagNames"/> (IOB2), and the files of <paramref name="tokenizer"/>.
    /// Transformers scores every token; this tagger reads each word at its first token, as Hugging Face's
    /// token-classification examples train (label_all_tokens false).
    /// </summary>
    /// <exception cref="ArgumentException">The tagger has a CRF (transformers' token classifiers have none) or bottleneck adapters, or the tokenizer is another.</exception>
    /// <exception cref="NotSupportedException">The tokenizer has no Hugging Face files.</exception>
    public void SaveAsHuggingFace(string directory, TextTokenizer? tokenizer = null) =>
        HuggingFaceTaskFiles.Save(Model, Model.Bert.Config, _tagNames, _padId, directory, tokenizer);

    /// <summary>
    /// A tagger read whole from a Hugging Face …ForTokenClassification directory (bert, roberta), head included,
    /// to tag without fine-tuning. Its tags are the directory's id2label and must be IOB tags (O, B-TYPE, I-TYPE);
    /// columns and decoding come from <paramref name="options"/> (defaults: Tokens, WordIds, Sentence -> Tags).
    /// </summary>
    /// <exception cref="InvalidDataException">The directory holds another architecture, tags of another scheme, or does not fit its config.</exception>
    public static TokenClassificationTransformer FromHuggingFace(string directory, TokenClassifierOptions? options = null)
    {
        options ??= new TokenClassifierOptions();
        var loaded = Models.HuggingFace.HuggingFaceImport.LoadTokenClassifier(directory);
        var foreign = loaded.Labels.Where(t => t != EntityTags.Outside && !(t.Length > 2 && t[1] == '-' && t[0] is 'B' or 'I')).ToList();
        if (foreign.Count > 0)
        {
            loaded.Model.Dispose();
            throw new InvalidDataException($"'{directory}' tags with {string.Join(", ", foreign.Take(5))}: this library's taggers read IOB tags (O, B-TYPE, I-TYPE).");
        }
        var (padId, maxLength) = HuggingFaceTaskFiles.Inputs(loaded.Config);
        return new TokenClassificationTransformer(HuggingFaceTaskFiles.Host(nameof(TokenClassificationTransformer)), options, [.. loaded.Labels], iob1: false,
            padId, maxLength, loaded.Model, null);
    }

    // The graph gives the tag scores; a CRF's decoding is the application's, from the scores in the metadata.
    internal override void SaveOnnx(Stream stream) =>
        OnnxExport.Save(Model, new OnnxInputs(_padId, _maxLength), stream,
            OnnxMetadata("token-classifier", _padId, _maxLength, [("tag_names", System.Text.Json.JsonSerializer.Serialize(_tagNames)), .. CrfMetadata()]));

    private IEnumerable<(string, string)> CrfMetadata()
    {
        if (Model.Crf is null) yield break;
        var (start, transitions, end) = Model.Crf.Scores();
        yield return ("crf_start", System.Text.Json.JsonSerializer.Serialize(start));
        yield return ("crf_transitions", System.Text.Json.JsonSerializer.Serialize(transitions));
        yield return ("crf_end", System.Text.Json.JsonSerializer.Serialize(end));
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
        ctx.SaveBinaryStream(DecodingStream, writer => writer.Write((int)Decoding));
        if (_entitiesColumn is not null) ctx.SaveBinaryStream(EntitiesStream, writer => writer.Write(_entitiesColumn));
        if (Model.Crf is not null) ctx.SaveBinaryStream(CrfStream, writer => writer.Write(true));
    }

    // A stream of its own, so that zips written before it existed still load (with the decoding they had: independent).
    private const string DecodingStream = "Decoding", EntitiesStream = "EntitiesColumn", CrfStream = "Crf";

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
        var crf = false;
        ctx.TryLoadBinaryStream(CrfStream, reader => crf = reader.ReadBoolean());
        var model = TokenClassificationEstimator.NewModel(config, names, crf);
        ModelStreams.LoadWeights(host, ctx, model, "Token classifier (loaded)");
        var decoding = TagDecoding.Independent;
        ctx.TryLoadBinaryStream(DecodingStream, reader => decoding = (TagDecoding)reader.ReadInt32());
        if (!Enum.IsDefined(decoding)) throw new InvalidDataException($"Token classifier zip entry declares decoding {(int)decoding}.");
        string? entities = null;
        ctx.TryLoadBinaryStream(EntitiesStream, reader => entities = reader.ReadString());
        return new TokenClassificationTransformer(host, tokens, wordIds, sentence, output, names, iob1, padId, maxLength, decoding, entities, model, null);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).MakeRowMapper(inputSchema, null);

    /// <inheritdoc/>
    private protected override IRowMapper MakeRowMapper(DataViewSchema schema, IDataView? batchInput) =>
        Mapper(schema, new Scoring(this, schema), batchInput);

    /// <summary>One row's input: its token ids, the word of each token, the sentence's word count and the sentence.</summary>
    private sealed record TaggerInput(int[] Tokens, int[] WordIds, int Words, string Sentence);

    private sealed class Scoring(TokenClassificationTransformer parent, DataViewSchema schema) : RowScoring<TaggerInput, (string[] Tags, IReadOnlyList<TaggedEntity> Entities)>
    {
        private readonly int _tokens = TokenSequences.CheckColumn(schema, parent._tokenColumn).Index;
        private readonly int _wordIds = TokenSequences.CheckColumn(schema, parent._wordIdsColumn).Index;
        private readonly int _sentence = schema.GetColumnOrNull(parent._sentenceColumn)?.Index
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{parent._sentenceColumn}'");

        public override IReadOnlyList<int> InputColumns => [_tokens, _wordIds, _sentence];

        public override DataViewSchema.DetachedColumn[] OutputColumns =>
        [
            new(parent._outputColumn, new VectorDataViewType(TextDataViewType.Instance)),
            .. parent._entitiesColumn is string entities
                ? TaggedEntity.Columns.Select(c => new DataViewSchema.DetachedColumn(entities + c.Suffix, new VectorDataViewType(c.Type)))
                : [],
        ];

        public override Func<TaggerInput> Reader(DataViewRow row)
        {
            var tokens = row.GetGetter<VBuffer<int>>(row.Schema[_tokens]);
            var wordIds = row.GetGetter<VBuffer<int>>(row.Schema[_wordIds]);
            var sentence = row.GetGetter<ReadOnlyMemory<char>>(row.Schema[_sentence]);
            VBuffer<int> ids = default, words = default;
            ReadOnlyMemory<char> text = default;
            return () =>
            {
                tokens(ref ids);
                wordIds(ref words);
                sentence(ref text);
                var sentenceText = parent._entitiesColumn is null ? "" : text.ToString();
                return new TaggerInput(ids.DenseValues().ToArray(), words.DenseValues().ToArray(), TaggedRows.CountWords(text.Span), sentenceText);
            };
        }

        public override int Length(TaggerInput input) => input.Tokens.Length;

        // Each row's entities are read once here, for the getters of all the entity columns.
        public override (string[], IReadOnlyList<TaggedEntity>)[] Score(IReadOnlyList<TaggerInput> batch) =>
            parent.PredictTags(batch).Select((words, i) => (words.Tags, parent._entitiesColumn is null ? [] : TaggedEntity.Of(words, batch[i].Sentence))).ToArray();

        public override Delegate[] Getters(Func<(string[] Tags, IReadOnlyList<TaggedEntity> Entities)> current, Func<int, bool> activeOutput)
        {
            var tags = Texts(() => current().Tags);
            if (parent._entitiesColumn is null) return [tags];
            return
            [
                tags,
                Texts(() => current().Entities.Select(e => e.Text).ToArray()),
                Texts(() => current().Entities.Select(e => e.Type).ToArray()),
                Vector(() => current().Entities.Select(e => e.Score).ToArray()),
                Vector(() => current().Entities.Select(e => e.Start).ToArray()),
                Vector(() => current().Entities.Select(e => e.End).ToArray()),
            ];
        }

        private static ValueGetter<VBuffer<ReadOnlyMemory<char>>> Texts(Func<string[]> values) => (ref VBuffer<ReadOnlyMemory<char>> value) =>
        {
            var texts = values();
            new VBuffer<ReadOnlyMemory<char>>(texts.Length, texts.Select(t => t.AsMemory()).ToArray()).CopyTo(ref value);
        };

        private static ValueGetter<VBuffer<T>> Vector<T>(Func<T[]> values) => (ref VBuffer<T> value) =>
        {
            var array = values();
            new VBuffer<T>(array.Length, array).CopyTo(ref value);
        };
    }
}
