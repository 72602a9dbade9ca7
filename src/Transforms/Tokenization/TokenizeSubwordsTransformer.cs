using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;

[assembly: LoadableClass(typeof(TokenizeSubwordsTransformer), null, typeof(SignatureLoadModel),
    "Subword tokenizer", TokenizeSubwordsTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(TokenizeSubwordsTransformer), null, typeof(SignatureLoadRowMapper),
    "Subword tokenizer", TokenizeSubwordsTransformer.LoaderSignature)]

namespace Pipelines;

/// <summary>
/// The fitted subword tokenization transform: a text column (or two, for pairs) becomes token ids,
/// attention mask, word ids and segment ids (see <see cref="TokenizeSubwordsOptions"/> for the
/// columns). Rows cut to the maximum length and unknown tokens are counted per pass over the data
/// and logged through <c>MLContext.Log</c>. Saves into ML.NET model zips with its vocabulary.
/// The token-id column carries this transformer as its <see cref="TokenizationAnnotation"/>, so
/// that trainers further down the pipeline know the tokenizer and the maximum length.
/// </summary>
public sealed class TokenizeSubwordsTransformer : RowToRowTransformerBase
{
    internal const string LoaderSignature = "SubwordTokenizer";
    private readonly TokenizeSubwordsOptions _options;

    internal TokenizeSubwordsTransformer(IHostEnvironment env, TextTokenizer tokenizer, TokenizeSubwordsOptions options)
        : base(Contracts.CheckRef(env, nameof(env)).Register(nameof(TokenizeSubwordsTransformer)))
    {
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        options.Validate();
        _options = options.Copy();
    }

    /// <summary>The tokenizer, with its vocabulary (for building a model of <see cref="TextTokenizer.VocabSize"/> ids).</summary>
    public TextTokenizer Tokenizer { get; }

    /// <summary>The token-id column; the other columns' names derive from it.</summary>
    public string OutputColumnName => _options.OutputColumnName;

    /// <summary>The text column.</summary>
    public string InputColumnName => _options.InputColumnName;

    /// <summary>The second text column of pairs, or null.</summary>
    public string? PairColumnName => _options.PairColumnName;

    /// <summary>Most tokens per row.</summary>
    public int MaxLength => _options.MaxLength;

    /// <summary>Whether rows are padded to <see cref="MaxLength"/>.</summary>
    public bool PadToMaxLength => _options.PadToMaxLength;

    /// <summary>The names of the four columns this transform writes (token ids first).</summary>
    public IReadOnlyList<string> OutputColumnNames =>
    [
        _options.OutputColumnName, TokenizeSubwordsOptions.AttentionMaskColumn(_options.OutputColumnName),
        TokenizeSubwordsOptions.WordIdsColumn(_options.OutputColumnName), TokenizeSubwordsOptions.SegmentIdsColumn(_options.OutputColumnName),
    ];

    // ---- persistence (ML.NET's internal model-zip API; see build/MlNetInternals) ----

    private static VersionInfo GetVersionInfo() => new(
        modelSignature: "SUBWTOKN", verWrittenCur: 0x00010001, verReadableCur: 0x00010001, verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature, loaderAssemblyName: typeof(TokenizeSubwordsTransformer).Assembly.FullName);

    private TokenizeSubwordsTransformer(IHost host, ModelLoadContext ctx) : base(host)
    {
        // Format: output, input, pair-or-null, maxLength, truncation, pad, addSpecial; stream "Tokenizer".
        _options = new TokenizeSubwordsOptions
        {
            OutputColumnName = ctx.LoadNonEmptyString(),
            InputColumnName = ctx.LoadNonEmptyString(),
            PairColumnName = ctx.LoadStringOrNull(),
            MaxLength = ctx.Reader.ReadInt32(),
            Truncation = (TruncationStrategy)ctx.Reader.ReadInt32(),
            PadToMaxLength = ctx.Reader.ReadBoolean(),
            AddSpecialTokens = ctx.Reader.ReadBoolean(),
        };
        _options.Validate();
        TextTokenizer? tokenizer = null;
        if (!ctx.TryLoadBinaryStream("Tokenizer", reader => tokenizer = TextTokenizer.Load(reader.BaseStream)))
            throw new InvalidDataException("The model zip lacks the 'Tokenizer' stream of TokenizeSubwordsTransformer.");
        Tokenizer = tokenizer!;
    }

    private static TokenizeSubwordsTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        return new TokenizeSubwordsTransformer(env.Register(nameof(TokenizeSubwordsTransformer)), ctx);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    /// <summary>Writes the options and the tokenizer (vocabulary files included) into the model zip.</summary>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.SaveNonEmptyString(_options.OutputColumnName);
        ctx.SaveNonEmptyString(_options.InputColumnName);
        ctx.SaveStringOrNull(_options.PairColumnName);
        ctx.Writer.Write(_options.MaxLength);
        ctx.Writer.Write((int)_options.Truncation);
        ctx.Writer.Write(_options.PadToMaxLength);
        ctx.Writer.Write(_options.AddSpecialTokens);
        ctx.SaveBinaryStream("Tokenizer", writer => Tokenizer.Save(writer.BaseStream));
    }

    /// <summary>Makes the row mapper, checking the input columns on the real schema.</summary>
    protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

    private sealed class Mapper : MapperBase
    {
        private readonly TokenizeSubwordsTransformer _owner;
        private readonly int _text;
        private readonly int _pair;

        public Mapper(TokenizeSubwordsTransformer parent, DataViewSchema schema)
            : base(parent.Host.Register(nameof(Mapper)), schema, parent)
        {
            _owner = parent;
            _text = ColumnChecks.RequireText(Host, schema, parent._options.InputColumnName);
            _pair = parent._options.PairColumnName is { } pair ? ColumnChecks.RequireText(Host, schema, pair) : -1;
        }

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore()
        {
            var o = _owner._options;
            var type = o.PadToMaxLength ? new VectorDataViewType(NumberDataViewType.Int32, o.MaxLength) : new VectorDataViewType(NumberDataViewType.Int32);
            return
            [
                new(o.OutputColumnName, type, TokenizationAnnotation.Build(_owner)),
                new(TokenizeSubwordsOptions.AttentionMaskColumn(o.OutputColumnName), type),
                new(TokenizeSubwordsOptions.WordIdsColumn(o.OutputColumnName), type),
                new(TokenizeSubwordsOptions.SegmentIdsColumn(o.OutputColumnName), type),
            ];
        }

        protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
        {
            var any = Enumerable.Range(0, 4).Any(activeOutput);
            return col => any && (col == _text || col == _pair);
        }

        protected override void SaveModel(ModelSaveContext ctx) => _owner.SaveModel(ctx);

        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action disposer)
            => CreateGetters(input, i => i == iinfo, out disposer)[iinfo];

        // All four columns share one encoding per row (cached by row position) and one set of counters per cursor.
        public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action disposer)
        {
            var getters = new Delegate[4];
            disposer = () => { };
            if (!Enumerable.Range(0, 4).Any(activeOutput)) return getters; // the text columns are not active then
            var row = new RowEncoder(_owner, input, _text, _pair, wordIds: activeOutput(2));
            for (var i = 0; i < 4; i++)
            {
                if (activeOutput(i)) getters[i] = row.Getter(i);
            }
            disposer = row.Report;
            return getters;
        }
    }

    // Encodes the current row once for all output columns; counts truncated rows and unknown tokens.
    private sealed class RowEncoder
    {
        private readonly TokenizeSubwordsTransformer _owner;
        private readonly DataViewRow _input;
        private readonly ValueGetter<ReadOnlyMemory<char>> _text;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _pair;
        private readonly EncodingBuffer _buffer = new();
        private readonly bool _wordIds;
        private long _position = -1;
        private ReadOnlyMemory<char> _textValue, _pairValue;
        private long _rows, _truncatedRows, _tokens, _unknownTokens;

        // Word ids are computed only when their column is read: for offset-based vocabularies (BPE,
        // tiktoken) they cost a slower library call, and most consumers (pretraining, classifiers) skip them.
        public RowEncoder(TokenizeSubwordsTransformer parent, DataViewRow input, int text, int pair, bool wordIds)
        {
            (_owner, _input, _wordIds) = (parent, input, wordIds);
            _text = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[text]);
            _pair = pair >= 0 ? input.GetGetter<ReadOnlyMemory<char>>(input.Schema[pair]) : null;
        }

        public ValueGetter<VBuffer<int>> Getter(int column) => (ref VBuffer<int> value) =>
        {
            Encode();
            var o = _owner._options;
            var length = o.PadToMaxLength ? o.MaxLength : _buffer.Ids.Count;
            var editor = VBufferEditor.Create(ref value, length);
            var values = editor.Values;
            var tokenizer = _owner.Tokenizer;
            switch (column)
            {
                case 0: tokenizer.Fill(_buffer, values, default, default, default); break;
                case 1: tokenizer.Fill(_buffer, default, values, default, default); break;
                case 2: tokenizer.Fill(_buffer, default, default, values, default); break;
                default: tokenizer.Fill(_buffer, default, default, default, values); break;
            }
            value = editor.Commit();
        };

        private void Encode()
        {
            if (_input.Position == _position) return;
            _position = _input.Position;
            _text(ref _textValue);
            if (_pair is not null) _pair(ref _pairValue);
            var o = _owner._options;
            _owner.Tokenizer.EncodeInto(_buffer, _textValue.Span, _pairValue.Span, _pair is not null, o.MaxLength, o.Truncation, o.AddSpecialTokens, _wordIds);
            _rows++;
            _tokens += _buffer.Ids.Count;
            _unknownTokens += _buffer.UnknownCount;
            if (_buffer.Truncated) _truncatedRows++;
        }

        public void Report()
        {
            if (_rows == 0) return;
            using var channel = _owner.Host.Start("TokenizeSubwords");
            channel.Info($"TokenizeSubwords '{_owner._options.InputColumnName}': {_rows} rows, {_tokens} tokens; {_truncatedRows} rows truncated to {_owner._options.MaxLength} tokens; {_unknownTokens} unknown tokens.");
            if (_truncatedRows > 0 || _unknownTokens > 0)
                channel.Warning($"TokenizeSubwords '{_owner._options.InputColumnName}': {_truncatedRows} of {_rows} rows truncated, {_unknownTokens} of {_tokens} tokens unknown.");
        }
    }
}
