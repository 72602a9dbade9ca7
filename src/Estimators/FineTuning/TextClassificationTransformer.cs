using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Onnx;
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
public sealed class TextClassificationTransformer : ModelTransformerBase<BertForSequenceClassification>
{
    internal const string LoaderSignature = "PipelinesTextClassifier";
    private readonly bool _binary;
    private readonly string _tokenColumn;
    private readonly string? _segmentColumn;
    private readonly string[] _classNames;
    private readonly int _padId;
    private readonly int _maxLength;
    private readonly Pooling _pooling;

    /// <summary>Class names in class-index order.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;

    internal TextClassificationTransformer(IHost host, bool binary, string tokenColumn, string? segmentColumn, string[] classNames,
        int padId, int maxLength, Pooling pooling, BertForSequenceClassification model, TrainingResult? training)
        : base(host, model, nameof(TextClassificationTransformer), training)
    {
        (_binary, _tokenColumn, _segmentColumn, _classNames, _padId, _maxLength, _pooling) =
            (binary, tokenColumn, segmentColumn, classNames, padId, maxLength, pooling);
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

    /// <summary>Class probabilities of each row (tokens cut to the model's length), from one forward pass.</summary>
    internal float[][] Probabilities(IReadOnlyList<ClassifierInput> rows)
    {
        var results = new float[rows.Count][];
        var scored = Enumerable.Range(0, rows.Count).Where(i => rows[i].Tokens.Length > 0).ToArray();
        foreach (var i in Enumerable.Range(0, rows.Count).Except(scored))
            results[i] = Enumerable.Repeat(1f / _classNames.Length, _classNames.Length).ToArray();
        if (scored.Length == 0) return results;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var tokens = scored.Select(i => TokenBatch.Cut(rows[i].Tokens, _maxLength)).ToArray();
        var (ids, mask) = TokenBatch.Pad(tokens, _padId, Device);
        // A token without a segment id is in segment 0, as a missing segment column means.
        var segments = _segmentColumn is null ? null : TokenBatch.Pad(
            scored.Select((i, j) => rows[i].Segments!.Concat(new int[tokens[j].Length]).Take(tokens[j].Length).ToArray()).ToArray(), 0, Device).Ids;
        var probabilities = TokenBatch.Rows(nn.functional.softmax(Model.Forward(ids, mask, segments), -1));
        for (var j = 0; j < scored.Length; j++) results[scored[j]] = probabilities[j];
        return results;
    }

    internal override void SaveOnnx(Stream stream) =>
        OnnxExport.Save(Model, new OnnxInputs(_padId, _maxLength, _segmentColumn is not null), stream,
            OnnxMetadata("text-classifier", _padId, _maxLength, ("binary", _binary ? "true" : "false"),
                ("class_names", System.Text.Json.JsonSerializer.Serialize(_classNames))));

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
        Create(env, ctx).MakeRowMapper(inputSchema, null);

    /// <inheritdoc/>
    private protected override IRowMapper MakeRowMapper(DataViewSchema schema, IDataView? batchInput) =>
        Mapper(schema, new Scoring(this, schema), batchInput);

    /// <summary>One row's input: its token ids and, for sentence pairs, its segment ids.</summary>
    internal sealed record ClassifierInput(int[] Tokens, int[]? Segments);

    private sealed class Scoring(TextClassificationTransformer parent, DataViewSchema schema) : RowScoring<ClassifierInput, float[]>
    {
        private readonly int _tokens = TokenSequences.CheckColumn(schema, parent._tokenColumn).Index;
        private readonly int? _segments = parent._segmentColumn is null ? null : TokenSequences.CheckColumn(schema, parent._segmentColumn).Index;

        public override IReadOnlyList<int> InputColumns => _segments is int s ? [_tokens, s] : [_tokens];

        public override DataViewSchema.DetachedColumn[] OutputColumns
        {
            get
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
        }

        public override Func<ClassifierInput> Reader(DataViewRow row)
        {
            var tokens = row.GetGetter<VBuffer<int>>(row.Schema[_tokens]);
            var segments = _segments is int s ? row.GetGetter<VBuffer<int>>(row.Schema[s]) : null;
            VBuffer<int> ids = default, segs = default;
            return () =>
            {
                tokens(ref ids);
                segments?.Invoke(ref segs);
                return new ClassifierInput(ids.DenseValues().ToArray(), segments is null ? null : segs.DenseValues().ToArray());
            };
        }

        public override int Length(ClassifierInput input) => input.Tokens.Length;

        public override float[][] Score(IReadOnlyList<ClassifierInput> batch) => parent.Probabilities(batch);

        public override Delegate[] Getters(Func<float[]> current, Func<int, bool> activeOutput)
        {
            if (parent._binary)
                return
                [
                    (ValueGetter<float>)((ref float v) => { var p = current(); v = MathF.Log(p[1]) - MathF.Log(p[0]); }),
                    (ValueGetter<float>)((ref float v) => v = current()[1]),
                    (ValueGetter<bool>)((ref bool v) => v = current()[1] > 0.5f),
                ];
            return
            [
                (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) => { var p = current(); new VBuffer<float>(p.Length, p).CopyTo(ref v); }),
                (ValueGetter<uint>)((ref uint v) => { var p = current(); v = (uint)Array.IndexOf(p, p.Max()) + 1; }),
            ];
        }
    }
}
