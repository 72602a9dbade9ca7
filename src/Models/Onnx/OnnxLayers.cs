using static TorchSharp.torch;

namespace Pipelines.Models.Onnx;

/// <summary>
/// The transformer's layers as ONNX nodes, each computing what its TorchSharp module computes:
/// linear layers, LayerNorm, the GELUs, multi-head attention with a key mask or a causal mask,
/// and masked mean pooling. Weights come from the model's state dict by Hugging Face name.
/// </summary>
internal sealed class OnnxLayers(OnnxGraph graph, IReadOnlyDictionary<string, Tensor> weights)
{
    public OnnxGraph Graph => graph;

    /// <summary>The weight called <paramref name="name"/> as an initializer.</summary>
    public string Weight(string name) => graph.Weight(name, Find(name));

    public bool Has(string name) => weights.ContainsKey(name);

    public Tensor Find(string name) => weights.TryGetValue(name, out var weight) ? weight
        : throw new InvalidOperationException($"The model has no weight '{name}' that its ONNX graph needs.");

    /// <summary>x W^T + b for the linear layer <paramref name="prefix"/> (weight stored transposed, so one MatMul).</summary>
    public string Linear(string x, string prefix)
    {
        using var transposed = Find($"{prefix}.weight").t();
        var y = graph.Node("MatMul", [x, graph.Weight($"{prefix}.weight", transposed)]);
        return Has($"{prefix}.bias") ? graph.Node("Add", [y, Weight($"{prefix}.bias")]) : y;
    }

    /// <summary>x + up(ReLU(down(x))) when the model has the bottleneck adapter <paramref name="prefix"/>, else x.</summary>
    public string Adapter(string x, string prefix) =>
        Has($"{prefix}.down.weight") ? graph.Node("Add", [x, Linear(graph.Node("Relu", [Linear(x, $"{prefix}.down")]), $"{prefix}.up")]) : x;

    /// <summary>LayerNorm over the last axis with the module's scale, bias (if any) and epsilon.</summary>
    public string LayerNorm(string x, string prefix, double epsilon)
    {
        string[] inputs = Has($"{prefix}.bias") ? [x, Weight($"{prefix}.weight"), Weight($"{prefix}.bias")] : [x, Weight($"{prefix}.weight")];
        return graph.Node("LayerNormalization", inputs, [("axis", -1L), ("epsilon", (float)epsilon)]);
    }

    /// <summary>Exact GELU, x Φ(x) = x (1 + erf(x / √2)) / 2, or its tanh approximation.</summary>
    public string Gelu(string x, bool tanh)
    {
        string inner;
        if (!tanh)
            inner = graph.Node("Erf", [graph.Node("Mul", [x, graph.Scalar("inv_sqrt2", (float)(1 / Math.Sqrt(2)))])]);
        else
        {
            var cube = graph.Node("Mul", [graph.Node("Mul", [x, x]), x]);
            var sum = graph.Node("Add", [x, graph.Node("Mul", [cube, graph.Scalar("gelu_c", 0.044715f)])]);
            inner = graph.Node("Tanh", [graph.Node("Mul", [sum, graph.Scalar("sqrt_2_over_pi", (float)Math.Sqrt(2 / Math.PI))])]);
        }
        var half = graph.Node("Mul", [x, graph.Scalar("half", 0.5f)]);
        return graph.Node("Mul", [half, graph.Node("Add", [inner, graph.Scalar("one", 1f)])]);
    }

    /// <summary>
    /// Scaled dot-product attention of q, k, v (B, T, C) over <paramref name="heads"/> heads; a key
    /// is hidden where <paramref name="allowed"/> (bool, broadcastable to (B, H, T, T)) is false.
    /// </summary>
    public string Attention(string q, string k, string v, int heads, long hidden, string allowed)
    {
        var size = hidden / heads;
        var split = graph.Int64s("heads_shape", [0, 0, heads, size]);
        string Heads(string x, long[] perm) => graph.Node("Transpose", [graph.Node("Reshape", [x, split])], [("perm", perm)]);
        var scores = graph.Node("MatMul", [Heads(q, [0, 2, 1, 3]), Heads(k, [0, 2, 3, 1])]);             // (B, H, T, T)
        scores = graph.Node("Mul", [scores, graph.Scalar("scale", (float)(1 / Math.Sqrt(size)))]);
        scores = graph.Node("Where", [allowed, scores, graph.Scalar("masked", float.NegativeInfinity)]);
        var context = graph.Node("MatMul", [graph.Node("Softmax", [scores], [("axis", -1L)]), Heads(v, [0, 2, 1, 3])]);
        var merged = graph.Node("Transpose", [context], [("perm", new long[] { 0, 2, 1, 3 })]);            // (B, T, H, hs)
        return graph.Node("Reshape", [merged, graph.Int64s("hidden_shape", [0, 0, hidden])]);
    }

    /// <summary>Mean of hidden (B, T, C) over the positions where <paramref name="keep"/> (B, T, float) is 1.</summary>
    public string MaskedMean(string hidden, string keep)
    {
        var weights = graph.Node("Unsqueeze", [keep, graph.Int64s("axis2", [2], 1)]);                      // (B, T, 1)
        var axis1 = graph.Int64s("axis1", [1], 1);
        var sum = graph.Node("ReduceSum", [graph.Node("Mul", [hidden, weights]), axis1], [("keepdims", 0L)]);
        var count = graph.Node("ReduceSum", [weights, axis1], [("keepdims", 0L)]);
        return graph.Node("Div", [sum, graph.Node("Max", [count, graph.Scalar("one_token", 1f)])]);
    }

    /// <summary>Rows <paramref name="ids"/> of the embedding table <paramref name="table"/>.</summary>
    public string Embed(string table, string ids) => graph.Node("Gather", [table, ids], [("axis", 0L)]);
}
