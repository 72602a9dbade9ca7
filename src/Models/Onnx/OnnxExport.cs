using Pipelines.Models.Lora;
using static TorchSharp.torch;

namespace Pipelines.Models.Onnx;

/// <summary>What an exported graph takes, besides the weights.</summary>
/// <param name="PadId">The padding id: positions holding it are masked out of attention and pooling.</param>
/// <param name="MaxLength">The longest sequence the graph accepts; only that many position rows are exported, so a longer input fails in ONNX Runtime instead of being cut.</param>
/// <param name="Segments">True: the graph takes <c>token_type_ids</c> (sentence pairs) as a second input.</param>
public sealed record OnnxInputs(long PadId, int MaxLength, bool Segments = false);

/// <summary>
/// Writes this library's models as ONNX graphs (opset 17) that ONNX Runtime runs without libtorch.
/// Every graph takes <c>input_ids</c> (int64, [batch, sequence]; rows right-padded with the pad
/// id, from which the graph derives the attention mask) and, for sentence-pair classifiers,
/// <c>token_type_ids</c>; batch and sequence are dynamic axes. Outputs by model: classifier
/// <c>logits</c> and <c>probabilities</c> [batch, classes] (a one-output regressor: <c>logits</c> [batch, 1], the value); tagger <c>logits</c> [batch, sequence,
/// tags]; masked LM <c>embedding</c> [batch, hidden] (mean over real tokens) and <c>logits</c>
/// [batch, sequence, vocab]; causal LM <c>logits</c> [batch, sequence, vocab] and <c>embedding</c>.
/// </summary>
public static class OnnxExport
{
    private const string Batch = "batch", Sequence = "sequence";

    /// <summary>Writes a sequence classifier.</summary>
    public static void Save(BertForSequenceClassification model, OnnxInputs inputs, Stream stream, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (layers, ids, segments) = Start(model, inputs);
        var (hidden, keep) = Encoder(layers, model.Bert.Config, inputs, ids, segments);
        var g = layers.Graph;
        var pooled = model.Pooling == Pooling.FirstToken
            ? g.Node("Tanh", [layers.Linear(g.Node("Gather", [hidden, g.Int64s("first", [0])], [("axis", 1L)]), "bert.pooler.dense")])
            : layers.MaskedMean(hidden, keep);
        var logits = layers.Linear(pooled, "classifier");
        g.Output(logits, "logits", OnnxGraph.Float, Batch, model.Labels);
        if (model.Labels > 1) g.Output(g.Node("Softmax", [logits], [("axis", -1L)]), "probabilities", OnnxGraph.Float, Batch, model.Labels);
        Write(g, model.Labels > 1 ? "sequence_classifier" : "sequence_regressor", stream, metadata);
    }

    /// <summary>Writes a token classifier (tagger).</summary>
    public static void Save(BertForTokenClassification model, OnnxInputs inputs, Stream stream, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (layers, ids, segments) = Start(model, inputs);
        var (hidden, _) = Encoder(layers, model.Bert.Config, inputs, ids, segments);
        layers.Graph.Output(layers.Linear(hidden, "classifier"), "logits", OnnxGraph.Float, Batch, Sequence, layers.Find("classifier.weight").shape[0]);
        Write(layers.Graph, "token_classifier", stream, metadata);
    }

    /// <summary>Writes an extractive question answerer: <c>logits</c> [batch, sequence, 2], start then end.</summary>
    public static void Save(BertForQuestionAnswering model, OnnxInputs inputs, Stream stream, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (layers, ids, segments) = Start(model, inputs);
        var (hidden, _) = Encoder(layers, model.Bert.Config, inputs, ids, segments);
        layers.Graph.Output(layers.Linear(hidden, "qa_outputs"), "logits", OnnxGraph.Float, Batch, Sequence, 2);
        Write(layers.Graph, "question_answering", stream, metadata);
    }

    /// <summary>Writes a masked language model: sentence embeddings and the masked-LM logits.</summary>
    public static void Save(BertForPreTraining model, OnnxInputs inputs, Stream stream, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (layers, ids, segments) = Start(model, inputs);
        var config = model.Config;
        var (hidden, keep) = Encoder(layers, config, inputs, ids, segments);
        var g = layers.Graph;
        g.Output(layers.MaskedMean(hidden, keep), "embedding", OnnxGraph.Float, Batch, config.Hidden);
        var transformed = layers.LayerNorm(Activation(layers, layers.Linear(hidden, "cls.predictions.transform.dense"), config, Pipelines.Activation.Gelu),
            "cls.predictions.transform.LayerNorm", config.LayerNormEpsilon);
        var logits = g.Node("Add", [Decode(layers, transformed, "bert.embeddings.word_embeddings.weight"), layers.Weight("cls.predictions.bias")]);
        g.Output(logits, "logits", OnnxGraph.Float, Batch, Sequence, config.VocabSize);
        Write(g, "masked_language_model", stream, metadata);
    }

    /// <summary>Writes a causal language model: next-token logits and sentence embeddings.</summary>
    public static void Save(GptLanguageModel model, OnnxInputs inputs, Stream stream, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (inputs.Segments) throw new ArgumentException("A causal language model takes no segment ids.", nameof(inputs));
        var (layers, ids, _) = Start(model, inputs);
        var config = model.Config;
        var g = layers.Graph;
        var length = Length(g, ids);
        var positions = g.Node("Range", [g.Int64s("offset", [config.PositionOffset]),
            g.Node("Add", [length, g.Int64s("offset_end", [config.PositionOffset])]), g.Int64s("step", [1])]);
        var x = AddPositions(g, layers.Embed(layers.Weight("transformer.wte.weight"), ids), PositionTable(layers, "transformer.wpe.weight", config, inputs), positions, inputs);
        // Causal mask (T, T): position i attends to positions j <= i.
        var steps = g.Node("Range", [g.Int64s("zero", [0]), length, g.Int64s("one_step", [1])]);
        var causal = g.Node("LessOrEqual", [g.Node("Unsqueeze", [steps, g.Int64s("row_axis", [0], 1)]), g.Node("Unsqueeze", [steps, g.Int64s("col_axis", [1], 1)])]);
        var width = (long)config.Hidden;
        for (var i = 0; i < config.Layers; i++)
        {
            var p = $"transformer.h.{i}";
            var qkv = layers.Linear(layers.LayerNorm(x, $"{p}.ln_1", config.LayerNormEpsilon), $"{p}.attn.c_attn");
            string Part(int k) => g.Node("Slice", [qkv, g.Int64s("start", [k * width], 1), g.Int64s("end", [(k + 1) * width], 1), g.Int64s("last_axis", [2], 1)]);
            var attention = layers.Attention(Part(0), Part(1), Part(2), config.Heads, width, causal);
            x = g.Node("Add", [x, layers.Linear(attention, $"{p}.attn.c_proj")]);
            var inner = Activation(layers, layers.Linear(layers.LayerNorm(x, $"{p}.ln_2", config.LayerNormEpsilon), $"{p}.mlp.c_fc"), config, Pipelines.Activation.GeluTanh);
            x = g.Node("Add", [x, layers.Linear(inner, $"{p}.mlp.c_proj")]);
        }
        var hidden = layers.LayerNorm(x, "transformer.ln_f", config.LayerNormEpsilon);
        var logits = layers.Has("lm_head.weight") ? layers.Linear(hidden, "lm_head") : Decode(layers, hidden, "transformer.wte.weight");
        g.Output(logits, "logits", OnnxGraph.Float, Batch, Sequence, config.VocabSize);
        g.Output(layers.MaskedMean(hidden, Keep(g, ids, inputs).Float), "embedding", OnnxGraph.Float, Batch, config.Hidden);
        Write(g, "causal_language_model", stream, metadata);
    }

    // Refuses what the graph cannot hold, then declares the inputs.
    private static (OnnxLayers Layers, string Ids, string? Segments) Start(nn.Module model, OnnxInputs inputs)
    {
        if (model.modules().OfType<LoraLinear>().Any(l => l.HasAdapter && !l.IsMerged))
            throw new InvalidOperationException("The model has unmerged LoRA adapters, which its ONNX graph cannot hold: merge them (Adapters.Merge) before exporting.");
        if (inputs.MaxLength <= 0) throw new ArgumentOutOfRangeException(nameof(inputs), inputs.MaxLength, "MaxLength must be positive.");
        var graph = new OnnxGraph();
        var ids = graph.Input("input_ids", OnnxGraph.Int64, Batch, Sequence);
        var segments = inputs.Segments ? graph.Input("token_type_ids", OnnxGraph.Int64, Batch, Sequence) : null;
        return (new OnnxLayers(graph, model.state_dict()), ids, segments);
    }

    // The BERT encoder: hidden states (B, T, C) and the float mask of real tokens (B, T).
    private static (string Hidden, string Keep) Encoder(OnnxLayers layers, TransformerConfig config, OnnxInputs inputs, string ids, string? segments)
    {
        var g = layers.Graph;
        var keep = Keep(g, ids, inputs);
        var offset = config.PositionOffset;
        // Positions as the encoder numbers them: 0..T-1 plus the offset, or (RoBERTa) counting real tokens only.
        var positions = offset == 0
            ? g.Node("Range", [g.Int64s("zero", [0]), Length(g, ids), g.Int64s("one_step", [1])])
            : g.Node("Add", [g.Node("Mul", [g.Node("CumSum", [keep.Int, g.Int64s("seq_axis", [1])]), keep.Int]), g.Int64s("pad_position", [offset - 1])]);
        var x = AddPositions(g, layers.Embed(layers.Weight("bert.embeddings.word_embeddings.weight"), ids),
            PositionTable(layers, "bert.embeddings.position_embeddings.weight", config, inputs), positions, inputs);
        if (layers.Has("bert.embeddings.token_type_embeddings.weight"))
        {
            var types = layers.Find("bert.embeddings.token_type_embeddings.weight");
            x = g.Node("Add", [x, segments is null ? g.Weight("segment_0", types[0]) : layers.Embed(layers.Weight("bert.embeddings.token_type_embeddings.weight"), segments)]);
        }
        else if (segments is not null) throw new InvalidOperationException("The model has no segment embeddings, so it cannot take token_type_ids.");
        x = layers.LayerNorm(x, "bert.embeddings.LayerNorm", config.LayerNormEpsilon);
        var allowed = g.Node("Unsqueeze", [keep.Bool, g.Int64s("head_query_axes", [1, 2])]);                    // (B, 1, 1, T)
        var eps = config.LayerNormEpsilon;
        for (var i = 0; i < config.Layers; i++)
        {
            var p = $"bert.encoder.layer.{i}";
            string Attend(string h) => layers.Attention(layers.Linear(h, $"{p}.attention.self.query"), layers.Linear(h, $"{p}.attention.self.key"),
                layers.Linear(h, $"{p}.attention.self.value"), config.Heads, config.Hidden, allowed);
            string Feed(string h) => Activation(layers, layers.Linear(h, $"{p}.intermediate.dense"), config, Pipelines.Activation.Gelu);
            string Project(string h, string output) => layers.Adapter(layers.Linear(h, $"{output}.dense"), $"{output}.adapter");
            if (config.PreLayerNorm)
            {
                var a = g.Node("Add", [Project(Attend(layers.LayerNorm(x, $"{p}.attention.output.LayerNorm", eps)), $"{p}.attention.output"), x]);
                x = g.Node("Add", [Project(Feed(layers.LayerNorm(a, $"{p}.output.LayerNorm", eps)), $"{p}.output"), a]);
            }
            else
            {
                var a = layers.LayerNorm(g.Node("Add", [Project(Attend(x), $"{p}.attention.output"), x]), $"{p}.attention.output.LayerNorm", eps);
                x = layers.LayerNorm(g.Node("Add", [Project(Feed(a), $"{p}.output"), a]), $"{p}.output.LayerNorm", eps);
            }
        }
        if (config.PreLayerNorm) x = layers.LayerNorm(x, "bert.encoder.final_LayerNorm", eps);
        return (x, keep.Float);
    }

    // Real tokens: input_ids != pad id, as bool, int64 and float (B, T).
    private static (string Bool, string Int, string Float) Keep(OnnxGraph g, string ids, OnnxInputs inputs)
    {
        var keep = g.Node("Not", [g.Node("Equal", [ids, g.Int64s("pad_id", [inputs.PadId])])]);
        return (keep, g.Node("Cast", [keep], [("to", (long)OnnxGraph.Int64)]), g.Node("Cast", [keep], [("to", (long)OnnxGraph.Float)]));
    }

    // The sequence length T as an int64 scalar.
    private static string Length(OnnxGraph g, string ids) =>
        g.Node("Gather", [g.Node("Shape", [ids]), g.Int64s("seq_dim", [1])], [("axis", 0L)]);

    // Token embeddings plus position embeddings. The position table holds MaxLength rows only, so
    // a longer input fails in one of these two nodes (which one depends on ONNX Runtime's
    // optimizations), and their names say why in ONNX Runtime's error.
    private static string AddPositions(OnnxGraph g, string tokens, string table, string positions, OnnxInputs inputs) =>
        g.Node("Add", [tokens, g.Node("Gather", [table, positions], [("axis", 0L)], name: $"input_ids_longer_than_max_length_{inputs.MaxLength}_positions")],
            name: $"input_ids_longer_than_max_length_{inputs.MaxLength}");

    // Only the rows MaxLength tokens use: a longer input indexes past the table and ONNX Runtime refuses it.
    private static string PositionTable(OnnxLayers layers, string name, TransformerConfig config, OnnxInputs inputs)
    {
        var rows = config.PositionOffset + Math.Min(inputs.MaxLength, config.MaxSequenceLength);
        using var table = layers.Find(name)[..rows];
        return layers.Graph.Weight(name, table);
    }

    // Logits against a tied embedding table (V, C): x E^T.
    private static string Decode(OnnxLayers layers, string x, string table)
    {
        using var transposed = layers.Find(table).t();
        return layers.Graph.Node("MatMul", [x, layers.Graph.Weight($"{table}.T", transposed)]);
    }

    private static string Activation(OnnxLayers layers, string x, TransformerConfig config, Activation fallback) =>
        layers.Gelu(x, (config.Activation == Pipelines.Activation.Default ? fallback : config.Activation) == Pipelines.Activation.GeluTanh);

    private static void Write(OnnxGraph graph, string name, Stream stream, IReadOnlyDictionary<string, string>? metadata) =>
        stream.Write(graph.ToModel(name, metadata ?? new Dictionary<string, string>()));
}
