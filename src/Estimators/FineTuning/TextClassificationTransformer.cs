using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

[assembly: LoadableClass(typeof(TextClassificationTransformer), null, typeof(SignatureLoadModel),
    "Transformer text classifier", TextClassificationTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(TextClassificationTransformer), null, typeof(SignatureLoadRowMapper),
    "Transformer text classifier", TextClassificationTransformer.LoaderSignature)]

namespace Pipelines;

/// <summary>
/// A fine-tuned transformer text classifier. Binary: Score (log-odds), Probability and
/// PredictedLabel (Boolean). Multiclass: Score (class probabilities) and PredictedLabel (a key
/// with the training label's names). Saves into ML.NET model zips.
/// </summary>
public sealed class TextClassificationTransformer : RowToRowTransformerBase, IDisposable, ITrainedTransformer
{
    internal const string LoaderSignature = "PipelinesTextClassifier";
    private readonly bool _binary;
    private readonly string _tokenColumn;
    private readonly string? _segmentColumn;
    private readonly string[] _classNames;
    private readonly int _padId;
    private readonly int _maxLength;
    private readonly Pooling _pooling;

    /// <summary>The classifier (in eval mode; LoRA adapters merged).</summary>
    public BertForSequenceClassification Model => _model.Model;

    private readonly ModelOwnership<BertForSequenceClassification> _model;
    /// <summary>Class names in class-index order.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;
    /// <summary>How the last training run went; null for a model loaded from a zip.</summary>
    public TrainingResult? Training { get; }

    internal TextClassificationTransformer(IHost host, bool binary, string tokenColumn, string? segmentColumn, string[] classNames,
        int padId, int maxLength, Pooling pooling, BertForSequenceClassification model, TrainingResult? training) : base(host)
    {
        (_binary, _tokenColumn, _segmentColumn, _classNames, _padId, _maxLength, _pooling) =
            (binary, tokenColumn, segmentColumn, classNames, padId, maxLength, pooling);
        Training = training;
        _model = new ModelOwnership<BertForSequenceClassification>(model, nameof(TextClassificationTransformer));
        Model.eval();
    }

    internal static IEnumerable<SchemaShape.Column> OutputShape(bool binary, SchemaShape.Column label)
    {
        if (binary)
        {
            yield return new SchemaShape.Column("Score", SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
            yield return new SchemaShape.Column("Probability", SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
            yield return new SchemaShape.Column("PredictedLabel", SchemaShape.Column.VectorKind.Scalar, BooleanDataViewType.Instance, false);
        }
        else
        {
            yield return new SchemaShape.Column("Score", SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
            yield return new SchemaShape.Column("PredictedLabel", SchemaShape.Column.VectorKind.Scalar, label.ItemType, true, label.Annotations);
        }
    }

    /// <summary>Class probabilities of one row (tokens cut to the model's length).</summary>
    internal float[] Probabilities(int[] tokens, int[]? segments)
    {
        if (tokens.Length == 0) return Enumerable.Repeat(1f / _classNames.Length, _classNames.Length).ToArray();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var device = Model.parameters().First().device;
        var length = Math.Min(tokens.Length, _maxLength);
        var ids = tensor(tokens[..length].Select(i => (long)i).ToArray()).unsqueeze(0).to(device);
        var segs = segments is null ? null : tensor(segments.Take(length).Select(i => (long)i).ToArray()).unsqueeze(0).to(device);
        return nn.functional.softmax(Model.Forward(ids, null, segs), -1)[0].to(ScalarType.Float32).cpu().data<float>().ToArray();
    }

    private static VersionInfo GetVersionInfo() => ModelStreams.Version("PLTXTCLS", LoaderSignature, typeof(TextClassificationTransformer));

    /// <inheritdoc/>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.Writer.Write(_binary);
        ctx.SaveNonEmptyString(_tokenColumn);
        ctx.SaveStringOrNull(_segmentColumn);
        ctx.Writer.Write(_classNames.Length);
        foreach (var name in _classNames) ctx.SaveString(name);
        ctx.Writer.Write(_padId);
        ctx.Writer.Write(_maxLength);
        ctx.Writer.Write((int)_pooling);
        ModelStreams.SaveConfig(ctx, Model.Bert.Config);
        ModelStreams.SaveWeights(ctx, Model);
    }

    private static TextClassificationTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var host = env.Register(nameof(TextClassificationTransformer));
        var binary = ctx.Reader.ReadBoolean();
        var tokens = ctx.LoadNonEmptyString();
        var segments = ctx.LoadStringOrNull();
        var count = ctx.Reader.ReadInt32();
        if (count is < 2 or > 1_000_000) throw new InvalidDataException($"Text classifier zip entry declares {count} classes.");
        var names = Enumerable.Range(0, count).Select(_ => ctx.LoadString()).ToArray();
        var (padId, maxLength, pooling) = (ctx.Reader.ReadInt32(), ctx.Reader.ReadInt32(), (Pooling)ctx.Reader.ReadInt32());
        var config = ModelStreams.LoadConfig(ctx);
        var model = new BertForSequenceClassification(config, count, pooling);
        ModelStreams.LoadWeights(host, ctx, model, "Text classifier (loaded)");
        return new TextClassificationTransformer(host, binary, tokens, segments, names, padId, maxLength, pooling, model, null);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).MakeRowMapper(inputSchema);

    /// <inheritdoc/>
    protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

    /// <summary>Releases the model's native memory.</summary>
    public void Dispose() => _model.Dispose();

    private sealed class Mapper(TextClassificationTransformer parent, DataViewSchema schema)
        : MapperBase(parent.Host.Register(nameof(Mapper)), schema, parent)
    {
        private readonly int _tokens = TokenSequences.CheckColumn(schema, parent._tokenColumn).Index;
        private readonly int? _segments = parent._segmentColumn is null ? null : TokenSequences.CheckColumn(schema, parent._segmentColumn).Index;

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore()
        {
            if (parent._binary)
                return
                [
                    new("Score", NumberDataViewType.Single),
                    new("Probability", NumberDataViewType.Single),
                    new("PredictedLabel", BooleanDataViewType.Instance),
                ];
            var names = parent._classNames.Select(n => n.AsMemory()).ToArray();
            var keyValues = new DataViewSchema.Annotations.Builder();
            keyValues.AddKeyValues(names.Length, TextDataViewType.Instance,
                (ref VBuffer<ReadOnlyMemory<char>> value) => new VBuffer<ReadOnlyMemory<char>>(names.Length, names).CopyTo(ref value));
            var slotNames = new DataViewSchema.Annotations.Builder();
            slotNames.AddSlotNames(names.Length, (ref VBuffer<ReadOnlyMemory<char>> value) => new VBuffer<ReadOnlyMemory<char>>(names.Length, names).CopyTo(ref value));
            return
            [
                new("Score", new VectorDataViewType(NumberDataViewType.Single, names.Length), slotNames.ToAnnotations()),
                new("PredictedLabel", new KeyDataViewType(typeof(uint), names.Length), keyValues.ToAnnotations()),
            ];
        }

        public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action disposer)
        {
            disposer = () => { };
            var outputs = parent._binary ? 3 : 2;
            // A cursor that reads no output has not activated the token column: open nothing.
            if (!Enumerable.Range(0, outputs).Any(activeOutput)) return new Delegate[outputs];
            var tokens = input.GetGetter<VBuffer<int>>(input.Schema[_tokens]);
            var segments = _segments is int s ? input.GetGetter<VBuffer<int>>(input.Schema[s]) : null;
            var cache = new RowCache<float[]>(input, () =>
            {
                VBuffer<int> ids = default, segs = default;
                tokens(ref ids);
                segments?.Invoke(ref segs);
                return parent.Probabilities(ids.DenseValues().ToArray(), segments is null ? null : segs.DenseValues().ToArray());
            });
            if (parent._binary)
                return
                [
                    (ValueGetter<float>)((ref float v) => { var p = cache.Get(); v = MathF.Log(p[1]) - MathF.Log(p[0]); }),
                    (ValueGetter<float>)((ref float v) => v = cache.Get()[1]),
                    (ValueGetter<bool>)((ref bool v) => v = cache.Get()[1] > 0.5f),
                ];
            return
            [
                (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) => { var p = cache.Get(); new VBuffer<float>(p.Length, p).CopyTo(ref v); }),
                (ValueGetter<uint>)((ref uint v) => { var p = cache.Get(); v = (uint)Array.IndexOf(p, p.Max()) + 1; }),
            ];
        }

        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action disposer) =>
            CreateGetters(input, activeOutput, out disposer)[iinfo];

        protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput) =>
            column => column == _tokens || column == _segments;

        protected override void SaveModel(ModelSaveContext ctx) => parent.SaveModel(ctx);
    }
}
