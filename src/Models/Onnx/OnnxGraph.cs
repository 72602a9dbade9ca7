using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Pipelines.Models.Onnx;

/// <summary>
/// An ONNX graph under construction: inputs, outputs, weights (initializers) and nodes, written
/// as an ONNX model (IR 8, default opset 17, the newest that onnx 1.12 checks and every current
/// ONNX Runtime runs). Names are generated; each op helper returns its output's name.
/// </summary>
internal sealed class OnnxGraph
{
    /// <summary>ONNX element types (TensorProto.DataType).</summary>
    public const int Float = 1, Int64 = 7, Bool = 9;
    private const long IrVersion = 8;
    private const long Opset = 17;

    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private readonly HashSet<string> _names = [];
    private int _next;

    /// <summary>A graph input of <paramref name="elementType"/>; a dimension is a size (long) or a symbolic name (string).</summary>
    public string Input(string name, int elementType, params object[] dims)
    {
        _inputs.Add(ValueInfo(Claim(name), elementType, dims));
        return name;
    }

    /// <summary>Marks <paramref name="value"/> as a graph output called <paramref name="name"/>.</summary>
    public void Output(string value, string name, int elementType, params object[] dims)
    {
        if (value != name) Node("Identity", [value], output: Claim(name));
        _outputs.Add(ValueInfo(name, elementType, dims));
    }

    /// <summary>A weight: the float32 values of <paramref name="weight"/>, copied now.</summary>
    public string Weight(string hint, Tensor weight)
    {
        using var cpu = weight.detach().to(ScalarType.Float32).cpu().contiguous();
        var values = cpu.data<float>().ToArray();
        return Initializer(hint, Float, cpu.shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }

    /// <summary>An int64 constant of shape <paramref name="dims"/> (a scalar when empty).</summary>
    public string Int64s(string hint, long[] values, params long[] dims) =>
        Initializer(hint, Int64, dims.Length == 0 && values.Length != 1 ? [values.Length] : dims, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>A float32 scalar constant.</summary>
    public string Scalar(string hint, float value) =>
        Initializer(hint, Float, [], MemoryMarshal.AsBytes(new[] { value }.AsSpan()).ToArray());

    /// <summary>
    /// Adds node <paramref name="op"/>; attributes are long, float, long[] or string values. ONNX
    /// Runtime's errors name the failing node, so a node that fails only on bad input gets a
    /// <paramref name="name"/> that says what was wrong.
    /// </summary>
    public string Node(string op, string[] inputs, (string Name, object Value)[]? attributes = null, string? output = null, string? name = null)
    {
        output ??= Fresh(op);
        var node = new ProtoWriter();
        foreach (var input in inputs) node.String(1, input);
        node.String(2, output).String(3, name is null ? Fresh($"{op}_node") : Claim(name)).String(4, op);
        foreach (var (key, value) in attributes ?? []) node.Message(5, Attribute(key, value));
        _nodes.Add(node);
        return output;
    }

    /// <summary>The model file: the graph, opset 17 and <paramref name="metadata"/> as metadata_props.</summary>
    public byte[] ToModel(string graphName, IReadOnlyDictionary<string, string> metadata)
    {
        var graph = new ProtoWriter();
        foreach (var node in _nodes) graph.Message(1, node);
        graph.String(2, graphName);
        foreach (var initializer in _initializers) graph.Message(5, initializer);
        foreach (var input in _inputs) graph.Message(11, input);
        foreach (var output in _outputs) graph.Message(12, output);
        var model = new ProtoWriter()
            .Varint(1, IrVersion)
            .String(2, "Pipelines")
            .String(3, typeof(OnnxGraph).Assembly.GetName().Version?.ToString() ?? "0")
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Varint(2, Opset));
        foreach (var (key, value) in metadata) model.Message(14, new ProtoWriter().String(1, key).String(2, value));
        return model.ToArray();
    }

    private string Initializer(string hint, int elementType, long[] dims, byte[] raw)
    {
        var name = Fresh(hint);
        var tensor = new ProtoWriter();
        if (dims.Length > 0) tensor.PackedVarints(1, dims);
        tensor.Varint(2, elementType).String(8, name).Bytes(9, raw);
        _initializers.Add(tensor);
        return name;
    }

    private static ProtoWriter ValueInfo(string name, int elementType, object[] dims)
    {
        var shape = new ProtoWriter();
        foreach (var dim in dims)
            shape.Message(1, dim is string symbol ? new ProtoWriter().String(2, symbol) : new ProtoWriter().Varint(1, Convert.ToInt64(dim)));
        var tensorType = new ProtoWriter().Varint(1, elementType).Message(2, shape);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }

    private static ProtoWriter Attribute(string name, object value)
    {
        var attribute = new ProtoWriter().String(1, name);
        return value switch
        {
            float f => attribute.Float(2, f).Varint(20, 1),
            long i => attribute.Varint(3, i).Varint(20, 2),
            int i => attribute.Varint(3, i).Varint(20, 2),
            string s => attribute.String(4, s).Varint(20, 3),
            long[] ints => attribute.PackedVarints(8, ints).Varint(20, 7),
            _ => throw new ArgumentException($"Unsupported ONNX attribute value {value.GetType().Name} for '{name}'."),
        };
    }

    private string Fresh(string hint)
    {
        var name = $"{hint}_{_next++}";
        return Claim(name);
    }

    private string Claim(string name) =>
        _names.Add(name) ? name : throw new InvalidOperationException($"ONNX value name '{name}' is used twice.");
}
