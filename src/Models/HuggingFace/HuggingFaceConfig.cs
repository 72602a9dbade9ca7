using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipelines.Models.HuggingFace;

/// <summary>
/// A Hugging Face config.json as this library understands it: the model type, the architecture as a
/// <see cref="TransformerConfig"/>, and the special token ids the file carries. Reading maps
/// BERT/RoBERTa's <c>hidden_size</c>, <c>num_hidden_layers</c>, <c>intermediate_size</c> ... and GPT-2's
/// <c>n_embd</c>, <c>n_layer</c>, <c>n_inner</c> (null: 4 x hidden) ... onto the config's fields; fields the
/// file leaves out take the defaults of transformers' own config classes, as transformers does.
/// </summary>
/// <remarks>
/// BERT and RoBERTa are post-LayerNorm; GPT-2 is pre-LayerNorm with a final <c>ln_f</c>. RoBERTa numbers
/// positions from <c>pad_token_id + 1</c>, which becomes <see cref="TransformerConfig.PositionOffset"/>
/// (its <c>max_position_embeddings</c> counts those offset rows). The one dropout of
/// <see cref="TransformerConfig"/> is read from <c>hidden_dropout_prob</c> (GPT-2: <c>resid_pdrop</c>) and
/// written to every dropout field. Supported activations: "gelu" (exact) and "gelu_new" /
/// "gelu_pytorch_tanh" (tanh approximation); anything else is refused rather than approximated.
/// </remarks>
public sealed record HuggingFaceConfig
{
    /// <summary>The name of the file in a model directory.</summary>
    public const string FileName = "config.json";

    /// <summary>The architecture family (config.json's <c>model_type</c>).</summary>
    public required HuggingFaceModelType ModelType { get; init; }
    /// <summary>The architecture in this library's terms.</summary>
    public required TransformerConfig Transformer { get; init; }
    /// <summary><c>pad_token_id</c>, or null. For RoBERTa it is always PositionOffset - 1.</summary>
    public int? PadTokenId { get; init; }
    /// <summary><c>bos_token_id</c>, or null.</summary>
    public int? BosTokenId { get; init; }
    /// <summary><c>eos_token_id</c>, or null.</summary>
    public int? EosTokenId { get; init; }
    /// <summary>The first entry of <c>architectures</c> ("BertForSequenceClassification", ...), or null. Export writes the model's own.</summary>
    public string? Architecture { get; init; }
    /// <summary>
    /// A task model's label names in id order (<c>id2label</c>; <c>label2id</c> is written from it), or null:
    /// class names of a classifier, tags of a token classifier.
    /// </summary>
    public IReadOnlyList<string>? Labels { get; init; }
    /// <summary><c>problem_type</c>: "single_label_classification", "multi_label_classification", "regression", or null.</summary>
    public string? ProblemType { get; init; }

    /// <summary>The labels transformers names when a config names none: LABEL_0, LABEL_1, ...</summary>
    public static string[] DefaultLabels(int count) => Enumerable.Range(0, count).Select(i => $"LABEL_{i}").ToArray();

    /// <summary>Reads and validates the config.json at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not JSON, a field has the wrong type or value, or the model is not supported.</exception>
    public static HuggingFaceConfig Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses the text of a config.json; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="InvalidDataException">The text is not a JSON object, a field has the wrong type or value, or the model is not supported.</exception>
    public static HuggingFaceConfig Parse(string json, string source = FileName)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try { document = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new InvalidDataException($"{source} is not valid JSON: {e.Message}", e); }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{source} must hold a JSON object, not {document.RootElement.ValueKind}.");
            var fields = new ConfigFields(document.RootElement, source);
            var name = fields.String("model_type", null)
                ?? throw new InvalidDataException($"{source} has no \"model_type\"; supported: bert, roberta, gpt2.");
            var type = HuggingFaceModelTypes.Parse(name)
                ?? throw new InvalidDataException($"{source}: model_type \"{name}\" is not supported; supported: bert, roberta, gpt2.");
            var config = (type == HuggingFaceModelType.Gpt2 ? ParseGpt2(fields) : ParseEncoder(fields, type)) with
            {
                Architecture = fields.FirstString("architectures"),
                Labels = fields.Labels(),
                ProblemType = fields.String("problem_type", null),
            };
            try { config.Transformer.Validate(); }
            catch (ArgumentException e) { throw new InvalidDataException($"{source}: {e.Message}", e); }
            return config;
        }
    }

    private static HuggingFaceConfig ParseEncoder(ConfigFields f, HuggingFaceModelType type)
    {
        var roberta = type == HuggingFaceModelType.Roberta;
        var activation = f.Activation("hidden_act", "gelu");
        if (roberta && activation != Activation.Gelu)
            f.Refuse("hidden_act", "RoBERTa's masked-LM head always uses exact GELU, so only \"gelu\" is supported");
        f.Require("position_embedding_type", "absolute", "only absolute position embeddings are supported");
        f.Require("is_decoder", false, "encoders used as causal decoders are not supported");
        f.Require("add_cross_attention", false, "cross-attention is not supported");
        var pad = f.OptionalInt("pad_token_id") ?? (roberta ? 1 : 0);
        if (roberta && pad < 0) f.Refuse("pad_token_id", "RoBERTa numbers positions from pad_token_id + 1, so it must not be negative");
        return new HuggingFaceConfig
        {
            ModelType = type,
            PadTokenId = pad,
            BosTokenId = f.OptionalInt("bos_token_id"),
            EosTokenId = f.OptionalInt("eos_token_id"),
            Transformer = new TransformerConfig
            {
                VocabSize = f.Int("vocab_size", roberta ? 50265 : 30522),
                Hidden = f.Int("hidden_size", 768),
                Layers = f.Int("num_hidden_layers", 12),
                Heads = f.Int("num_attention_heads", 12),
                FeedForward = f.Int("intermediate_size", 3072),
                MaxPositions = f.Int("max_position_embeddings", 512),
                TypeVocabSize = f.Int("type_vocab_size", 2),
                Dropout = f.Double("hidden_dropout_prob", 0.1),
                PreLayerNorm = false,
                LayerNormEpsilon = f.Double("layer_norm_eps", 1e-12),
                InitRange = f.Double("initializer_range", 0.02),
                TieEmbeddings = f.Bool("tie_word_embeddings", true),
                Bias = true,
                PositionOffset = roberta ? pad + 1 : 0,
                Activation = activation,
            },
        };
    }

    private static HuggingFaceConfig ParseGpt2(ConfigFields f)
    {
        f.Require("scale_attn_weights", true, "attention without 1/sqrt(head size) scaling is not supported");
        f.Require("scale_attn_by_inverse_layer_idx", false, "attention scaled by the layer index is not supported");
        f.Require("add_cross_attention", false, "cross-attention is not supported");
        var hidden = f.Int(["n_embd", "hidden_size"], 768);
        return new HuggingFaceConfig
        {
            ModelType = HuggingFaceModelType.Gpt2,
            PadTokenId = f.OptionalInt("pad_token_id"),
            BosTokenId = f.OptionalInt("bos_token_id"),
            EosTokenId = f.OptionalInt("eos_token_id"),
            Transformer = new TransformerConfig
            {
                VocabSize = f.Int("vocab_size", 50257),
                Hidden = hidden,
                Layers = f.Int(["n_layer", "num_hidden_layers"], 12),
                Heads = f.Int(["n_head", "num_attention_heads"], 12),
                FeedForward = f.OptionalInt("n_inner") ?? 4 * hidden,
                MaxPositions = f.Int(["n_positions", "max_position_embeddings"], 1024),
                TypeVocabSize = 0,
                Dropout = f.Double("resid_pdrop", 0.1),
                PreLayerNorm = true,
                LayerNormEpsilon = f.Double("layer_norm_epsilon", 1e-5),
                InitRange = f.Double("initializer_range", 0.02),
                TieEmbeddings = f.Bool("tie_word_embeddings", true),
                Bias = true,
                Activation = f.Activation("activation_function", "gelu_new"),
            },
        };
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when the architecture has no Hugging Face equivalent of
    /// <see cref="ModelType"/> (biasless layers, a pre-LN encoder, a position offset other than the
    /// model type's, an activation RoBERTa's head cannot match).
    /// </summary>
    public HuggingFaceConfig Validate()
    {
        var t = Transformer.Validate();
        void Check(bool ok, string message)
        {
            if (!ok) throw new ArgumentException($"Cannot write a {ModelType.Name()} config.json: {message}");
        }
        Check(t.Bias, "Hugging Face models have biases in every linear layer and LayerNorm (Bias is false).");
        Check(t.AdapterSize == 0, $"transformers' {ModelType.Name()} models have no bottleneck adapters (AdapterSize is {t.AdapterSize}); they cannot be merged into the weights as LoRA can.");
        switch (ModelType)
        {
            case HuggingFaceModelType.Bert:
                Check(!t.PreLayerNorm, "BERT is post-LayerNorm (PreLayerNorm is true).");
                Check(t.PositionOffset == 0, $"BERT numbers positions from 0 (PositionOffset is {t.PositionOffset}).");
                break;
            case HuggingFaceModelType.Roberta:
                Check(!t.PreLayerNorm, "RoBERTa is post-LayerNorm (PreLayerNorm is true).");
                Check(t.PositionOffset >= 1, "RoBERTa numbers positions from pad_token_id + 1, so PositionOffset must be at least 1.");
                Check(PadTokenId is null || PadTokenId == t.PositionOffset - 1,
                    $"RoBERTa's pad_token_id must be PositionOffset - 1 = {t.PositionOffset - 1}, got {PadTokenId}.");
                Check(t.Activation is Activation.Default or Activation.Gelu, "RoBERTa's masked-LM head uses exact GELU, so Activation must be Gelu.");
                break;
            case HuggingFaceModelType.Gpt2:
                Check(t.PositionOffset == 0, $"GPT-2 numbers positions from 0 (PositionOffset is {t.PositionOffset}).");
                break;
        }
        return this;
    }

    /// <summary>The config.json text for this config, with <c>architectures</c> = [<paramref name="architecture"/>].</summary>
    public string ToJson(string architecture)
    {
        ArgumentException.ThrowIfNullOrEmpty(architecture);
        var t = Validate().Transformer;
        var fields = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["architectures"] = new JsonArray(architecture),
            ["model_type"] = ModelType.Name(),
            ["vocab_size"] = t.VocabSize,
            ["initializer_range"] = t.InitRange,
            ["tie_word_embeddings"] = ModelType.IsEncoder() || t.TieEmbeddings,
            ["bos_token_id"] = BosTokenId,
            ["eos_token_id"] = EosTokenId,
        };
        if (ModelType.IsEncoder())
        {
            fields["hidden_size"] = t.Hidden;
            fields["num_hidden_layers"] = t.Layers;
            fields["num_attention_heads"] = t.Heads;
            fields["intermediate_size"] = t.FeedForward;
            fields["hidden_act"] = t.Activation == Activation.GeluTanh ? "gelu_new" : "gelu";
            fields["hidden_dropout_prob"] = t.Dropout;
            fields["attention_probs_dropout_prob"] = t.Dropout;
            fields["max_position_embeddings"] = t.MaxPositions;
            fields["type_vocab_size"] = t.TypeVocabSize;
            fields["layer_norm_eps"] = t.LayerNormEpsilon;
            fields["position_embedding_type"] = "absolute";
            fields["is_decoder"] = false;
            fields["pad_token_id"] = ModelType == HuggingFaceModelType.Roberta ? t.PositionOffset - 1 : PadTokenId ?? 0;
        }
        else
        {
            fields["n_embd"] = t.Hidden;
            fields["n_layer"] = t.Layers;
            fields["n_head"] = t.Heads;
            fields["n_inner"] = t.FeedForward == 4 * t.Hidden ? null : t.FeedForward;
            fields["n_positions"] = t.MaxPositions;
            fields["activation_function"] = t.Activation == Activation.Gelu ? "gelu" : "gelu_new";
            fields["resid_pdrop"] = t.Dropout;
            fields["embd_pdrop"] = t.Dropout;
            fields["attn_pdrop"] = t.Dropout;
            fields["layer_norm_epsilon"] = t.LayerNormEpsilon;
            fields["scale_attn_weights"] = true;
            fields["scale_attn_by_inverse_layer_idx"] = false;
            fields["reorder_and_upcast_attn"] = false;
            fields["pad_token_id"] = PadTokenId;
        }
        if (Labels is { } labels)
        {
            fields["id2label"] = new JsonObject(labels.Select((label, i) => KeyValuePair.Create(i.ToString(System.Globalization.CultureInfo.InvariantCulture), (JsonNode?)label)));
            fields["label2id"] = new JsonObject(labels.Select((label, i) => KeyValuePair.Create(label, (JsonNode?)i)));
        }
        if (ProblemType is not null) fields["problem_type"] = ProblemType;
        var json = new JsonObject();
        foreach (var (key, value) in fields) json[key] = value;
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Typed access to config.json's fields, with messages naming the file and the field.</summary>
    private sealed class ConfigFields(JsonElement root, string source)
    {
        private JsonElement? Get(string name) =>
            root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        public void Refuse(string name, string why) =>
            throw new InvalidDataException($"{source}: \"{name}\" {Describe(name)} is not supported: {why}.");

        private string Describe(string name) => root.TryGetProperty(name, out var v) ? $"= {v.GetRawText()}" : "(absent)";

        public int Int(string name, int fallback) => Int([name], fallback);

        public int Int(string[] names, int fallback)
        {
            foreach (var name in names)
                if (OptionalInt(name) is { } value) return value;
            return fallback;
        }

        public int? OptionalInt(string name)
        {
            if (Get(name) is not { } value) return null;
            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var result)) return result;
            throw new InvalidDataException($"{source}: \"{name}\" must be an integer, got {value.GetRawText()}.");
        }

        public double Double(string name, double fallback)
        {
            if (Get(name) is not { } value) return fallback;
            if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var result) && double.IsFinite(result)) return result;
            throw new InvalidDataException($"{source}: \"{name}\" must be a number, got {value.GetRawText()}.");
        }

        public bool Bool(string name, bool fallback)
        {
            if (Get(name) is not { } value) return fallback;
            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new InvalidDataException($"{source}: \"{name}\" must be true or false, got {value.GetRawText()}."),
            };
        }

        public string? String(string name, string? fallback)
        {
            if (Get(name) is not { } value) return fallback;
            if (value.ValueKind == JsonValueKind.String) return value.GetString();
            throw new InvalidDataException($"{source}: \"{name}\" must be a string, got {value.GetRawText()}.");
        }

        public string? FirstString(string name)
        {
            if (Get(name) is not { } value) return null;
            if (value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
                return value.EnumerateArray().Select(e => e.GetString()).FirstOrDefault();
            throw new InvalidDataException($"{source}: \"{name}\" must be an array of strings, got {value.GetRawText()}.");
        }

        // id2label: {"0": "O", "1": "B-PER", ...}, ids 0..n-1 each once, names distinct.
        public IReadOnlyList<string>? Labels()
        {
            if (Get("id2label") is not { } value) return null;
            if (value.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{source}: \"id2label\" must be an object of id -> name, got {value.GetRawText()}.");
            var byId = new SortedDictionary<int, string>();
            foreach (var entry in value.EnumerateObject())
            {
                if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                    || entry.Value.ValueKind != JsonValueKind.String || !byId.TryAdd(id, entry.Value.GetString()!))
                    throw new InvalidDataException($"{source}: \"id2label\" entry \"{entry.Name}\": {entry.Value.GetRawText()} is not a name under a distinct id 0, 1, ...");
            }
            if (byId.Count > 0 && byId.Keys.Last() != byId.Count - 1)
                throw new InvalidDataException($"{source}: \"id2label\" must number its labels 0 to {byId.Count - 1}, without gaps.");
            if (byId.Values.Distinct(StringComparer.Ordinal).Count() != byId.Count)
                throw new InvalidDataException($"{source}: \"id2label\" names a label twice.");
            return byId.Values.ToArray();
        }

        public void Require(string name, bool expected, string why)
        {
            if (Bool(name, expected) != expected) Refuse(name, why);
        }

        public void Require(string name, string expected, string why)
        {
            if (String(name, expected) != expected) Refuse(name, why);
        }

        public Activation Activation(string name, string fallback)
        {
            var value = String(name, fallback);
            return value switch
            {
                "gelu" => Pipelines.Activation.Gelu,
                "gelu_new" or "gelu_pytorch_tanh" => Pipelines.Activation.GeluTanh,
                _ => throw new InvalidDataException(
                    $"{source}: \"{name}\" = \"{value}\" is not supported; supported: gelu (exact), gelu_new and gelu_pytorch_tanh (tanh approximation)."),
            };
        }
    }
}
