using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines.Estimators.Tests;
using TorchSharp;
using static TorchSharp.torch;

[assembly: LoadableClass(typeof(LinearTorchTransformer), null, typeof(SignatureLoadModel),
    "Linear TorchSharp fixture", LinearTorchTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(LinearTorchTransformer), null, typeof(SignatureLoadRowMapper),
    "Linear TorchSharp fixture", LinearTorchTransformer.LoaderSignature)]

namespace Pipelines.Estimators.Tests;

/// <summary>
/// Test fixture: the smallest transformer that holds TorchSharp weights (Output = W * Input + b),
/// written exactly as ML.NET writes its own transformers, to prove that the build's access to
/// ML.NET internals lets such a transformer save into, and load from, an ML.NET model zip.
/// </summary>
public sealed class LinearTorchTransformer : RowToRowTransformerBase, IDisposable
{
    internal const string LoaderSignature = "LinearTorchFixture";
    private readonly nn.Module<Tensor, Tensor> _layer;
    private readonly string _input;
    private readonly string _output;
    private readonly int _inputSize;
    private readonly int _outputSize;

    public LinearTorchTransformer(IHostEnvironment env, string output, string input, int inputSize, int outputSize, int seed)
        : base(env.Register(nameof(LinearTorchTransformer)))
    {
        (_input, _output, _inputSize, _outputSize) = (input, output, inputSize, outputSize);
        random.manual_seed(seed);
        _layer = nn.Linear(inputSize, outputSize);
        _layer.eval();
    }

    private LinearTorchTransformer(IHost host, ModelLoadContext ctx) : base(host)
    {
        // Binary format: string input, string output, int inputSize, int outputSize; stream "Weights".
        _input = ctx.LoadNonEmptyString();
        _output = ctx.LoadNonEmptyString();
        _inputSize = ctx.Reader.ReadInt32();
        _outputSize = ctx.Reader.ReadInt32();
        _layer = nn.Linear(_inputSize, _outputSize);
        var layer = _layer;
        if (!ctx.TryLoadBinaryStream("Weights", reader => layer.load(reader)))
            throw new InvalidDataException("The model zip lacks the 'Weights' stream of LinearTorchTransformer.");
        _layer.eval();
    }

    private static VersionInfo GetVersionInfo() => new(
        modelSignature: "LINTORCH", verWrittenCur: 0x00010001, verReadableCur: 0x00010001, verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature, loaderAssemblyName: typeof(LinearTorchTransformer).Assembly.FullName);

    private static LinearTorchTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        return new LinearTorchTransformer(env.Register(nameof(LinearTorchTransformer)), ctx);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.SaveNonEmptyString(_input);
        ctx.SaveNonEmptyString(_output);
        ctx.Writer.Write(_inputSize);
        ctx.Writer.Write(_outputSize);
        ctx.SaveBinaryStream("Weights", writer => _layer.save(writer));
    }

    protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

    public void Dispose() => _layer.Dispose();

    private float[] Apply(float[] input)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return _layer.forward(tensor(input)).data<float>().ToArray();
    }

    private sealed class Mapper(LinearTorchTransformer parent, DataViewSchema schema)
        : MapperBase(parent.Host.Register(nameof(Mapper)), schema, parent)
    {
        private readonly int _inputIndex = schema.GetColumnOrNull(parent._input)?.Index
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{parent._input}'");

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() =>
            [new(parent._output, new VectorDataViewType(NumberDataViewType.Single, parent._outputSize))];

        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action disposer)
        {
            disposer = () => { };
            var source = input.GetGetter<VBuffer<float>>(input.Schema[_inputIndex]);
            VBuffer<float> buffer = default;
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
            {
                source(ref buffer);
                var result = parent.Apply(buffer.DenseValues().ToArray());
                new VBuffer<float>(result.Length, result).CopyTo(ref value);
            };
            return getter;
        }

        protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput) =>
            col => col == _inputIndex && activeOutput(0);

        protected override void SaveModel(ModelSaveContext ctx) => parent.SaveModel(ctx);
    }
}
