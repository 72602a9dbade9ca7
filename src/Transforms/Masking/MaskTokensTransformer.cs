using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;

[assembly: LoadableClass(typeof(MaskTokensTransformer), null, typeof(SignatureLoadModel),
    "Masked-LM token masking", MaskTokensTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(MaskTokensTransformer), null, typeof(SignatureLoadRowMapper),
    "Masked-LM token masking", MaskTokensTransformer.LoaderSignature)]

namespace Pipelines;

/// <summary>
/// Static masked-LM masking of a token-id column with <see cref="MlmMasker"/>: writes the masked ids
/// to <c>Output</c> and the labels (original id where chosen, <see cref="MlmMasker.IgnoreIndex"/>
/// elsewhere) to <c>Output.Labels</c>, both variable-length Int32 vectors. Each row is masked by a
/// Random seeded from the transform's seed and the row's position, so the output is the same on every
/// pass, in every cursor, and after saving and loading. (Trainers that mask anew every epoch call
/// <see cref="MlmMasker"/> directly.)
/// </summary>
public sealed class MaskTokensTransformer : RowToRowTransformerBase
{
    internal const string LoaderSignature = "MaskTokens";
    private readonly int[] _specialIds;
    private readonly MaskingOptions _options;

    internal MaskTokensTransformer(IHostEnvironment env, string output, string input, string? wordIds, int maskId, int vocabSize, IEnumerable<int> specialIds, MaskingOptions options, int seed)
        : this(Contracts.CheckRef(env, nameof(env)).Register(nameof(MaskTokensTransformer)), output, input, wordIds, maskId, vocabSize, specialIds.ToArray(), options, seed)
    {
    }

    private MaskTokensTransformer(IHost host, string output, string input, string? wordIds, int maskId, int vocabSize, int[] specialIds, MaskingOptions options, int seed)
        : base(host)
    {
        (OutputColumnName, InputColumnName, WordIdsColumnName, Seed, _specialIds, _options) = (output, input, wordIds, seed, specialIds, options.Copy());
        Masker = new MlmMasker(maskId, vocabSize, specialIds, options);
        if (options.Strategy == MaskingStrategy.WholeWord && wordIds is null)
            throw new ArgumentException("Whole-word masking needs a word-id column.", nameof(wordIds));
    }

    /// <summary>The masker (vocabulary size, [MASK] id, options).</summary>
    public MlmMasker Masker { get; }

    /// <summary>The masked-id column; labels go to <c>{OutputColumnName}.Labels</c>.</summary>
    public string OutputColumnName { get; }

    /// <summary>The token-id column.</summary>
    public string InputColumnName { get; }

    /// <summary>The word-id column (whole-word masking), or null.</summary>
    public string? WordIdsColumnName { get; }

    /// <summary>The seed the masking of every row derives from.</summary>
    public int Seed { get; }

    /// <summary>The labels column's name for a masked-id column.</summary>
    public static string LabelsColumn(string output) => output + ".Labels";

    // A Random per row from (seed, position), mixed with SplitMix64 so that neighbouring rows differ.
    internal static Random RowRandom(int seed, long position)
    {
        var z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)position + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return new Random((int)(z ^ (z >> 31)));
    }

    // ---- persistence ----

    private static VersionInfo GetVersionInfo() => new(
        modelSignature: "MASKTOKN", verWrittenCur: 0x00010001, verReadableCur: 0x00010001, verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature, loaderAssemblyName: typeof(MaskTokensTransformer).Assembly.FullName);

    /// <summary>Writes columns, seed, vocabulary facts and options into the model zip.</summary>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        // Format: output, input, wordIds-or-null, seed, maskId, vocabSize, special count + ids,
        // mask probability, [MASK] share, random share, strategy, span p, max span length.
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.SaveNonEmptyString(OutputColumnName);
        ctx.SaveNonEmptyString(InputColumnName);
        ctx.SaveStringOrNull(WordIdsColumnName);
        var w = ctx.Writer;
        w.Write(Seed);
        w.Write(Masker.MaskId);
        w.Write(Masker.VocabSize);
        w.Write(_specialIds.Length);
        foreach (var id in _specialIds) w.Write(id);
        w.Write(_options.MaskProbability);
        w.Write(_options.ReplaceWithMaskProbability);
        w.Write(_options.ReplaceWithRandomProbability);
        w.Write((int)_options.Strategy);
        w.Write(_options.SpanLengthP);
        w.Write(_options.MaxSpanLength);
    }

    private static MaskTokensTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var (output, input, wordIds) = (ctx.LoadNonEmptyString(), ctx.LoadNonEmptyString(), ctx.LoadStringOrNull());
        var r = ctx.Reader;
        var (seed, maskId, vocabSize, count) = (r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32());
        if (count < 0 || count > 1024) throw new InvalidDataException($"MaskTokens model claims {count} special ids.");
        var specials = new int[count];
        for (var i = 0; i < count; i++) specials[i] = r.ReadInt32();
        var options = new MaskingOptions
        {
            MaskProbability = r.ReadDouble(),
            ReplaceWithMaskProbability = r.ReadDouble(),
            ReplaceWithRandomProbability = r.ReadDouble(),
            Strategy = (MaskingStrategy)r.ReadInt32(),
            SpanLengthP = r.ReadDouble(),
            MaxSpanLength = r.ReadInt32(),
        };
        return new MaskTokensTransformer(env.Register(nameof(MaskTokensTransformer)), output, input, wordIds, maskId, vocabSize, specials, options, seed);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    /// <summary>Makes the row mapper, checking the input columns on the real schema.</summary>
    protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

    private sealed class Mapper : MapperBase
    {
        private readonly MaskTokensTransformer _owner;
        private readonly int _ids;
        private readonly int _words;

        public Mapper(MaskTokensTransformer owner, DataViewSchema schema) : base(owner.Host.Register(nameof(Mapper)), schema, owner)
        {
            _owner = owner;
            _ids = ColumnChecks.RequireIds(Host, schema, owner.InputColumnName);
            _words = owner.WordIdsColumnName is { } words ? ColumnChecks.RequireIds(Host, schema, words) : -1;
        }

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore()
        {
            var type = new VectorDataViewType(NumberDataViewType.Int32);
            return [new(_owner.OutputColumnName, type), new(LabelsColumn(_owner.OutputColumnName), type)];
        }

        protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
        {
            var any = activeOutput(0) || activeOutput(1);
            return col => any && (col == _ids || col == _words);
        }

        protected override void SaveModel(ModelSaveContext ctx) => _owner.SaveModel(ctx);

        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action disposer)
            => CreateGetters(input, i => i == iinfo, out disposer)[iinfo];

        public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action disposer)
        {
            disposer = () => { };
            if (!activeOutput(0) && !activeOutput(1)) return new Delegate[2]; // inputs are not active then
            var ids = input.GetGetter<VBuffer<int>>(input.Schema[_ids]);
            var words = _words >= 0 ? input.GetGetter<VBuffer<int>>(input.Schema[_words]) : null;
            VBuffer<int> idBuffer = default, wordBuffer = default;
            int[] masked = [], labels = [];
            long position = -1;
            void Compute()
            {
                if (input.Position == position) return;
                position = input.Position;
                ids(ref idBuffer);
                var idValues = idBuffer.DenseValues().ToArray();
                ReadOnlySpan<int> wordValues = default;
                if (words is not null)
                {
                    words(ref wordBuffer);
                    wordValues = wordBuffer.DenseValues().ToArray();
                }
                (masked, labels) = _owner.Masker.Mask(idValues, RowRandom(_owner.Seed, position), wordValues);
            }
            ValueGetter<VBuffer<int>> Getter(Func<int[]> pick) => (ref VBuffer<int> value) =>
            {
                Compute();
                var result = pick();
                var editor = VBufferEditor.Create(ref value, result.Length);
                result.CopyTo(editor.Values);
                value = editor.Commit();
            };
            return [activeOutput(0) ? Getter(() => masked) : null!, activeOutput(1) ? Getter(() => labels) : null!];
        }
    }
}
