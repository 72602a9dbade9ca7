using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using Pipelines.Models.HuggingFace;

namespace Pipelines;

/// <summary>
/// A Hugging Face encoder directory (bert or roberta: config.json, model.safetensors, tokenizer
/// files) as a masked-LM transformer, so the fine-tuning trainers can start from it like from
/// their own pretraining.
/// </summary>
internal static class HuggingFaceEncoder
{
    public static MaskedLanguageModelTransformer Load(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Hugging Face model directory '{directory}' does not exist.");
        var checkpoint = HuggingFaceImport.Load(directory);
        if (!checkpoint.ModelType.IsEncoder())
            throw new InvalidDataException($"'{directory}' holds a {checkpoint.ModelType.Name()} model, a decoder; the fine-tuning trainers start from encoders (bert, roberta).");
        var tokenizer = Tokenizer(checkpoint.Tokenizer, directory);
        if (tokenizer.VocabSize != checkpoint.Transformer.VocabSize)
            throw new InvalidDataException($"'{directory}': the tokenizer has {tokenizer.VocabSize} ids but config.json says vocab_size {checkpoint.Transformer.VocabSize}.");
        var host = ((IHostEnvironment)new MLContext()).Register(nameof(HuggingFaceEncoder));
        return new MaskedLanguageModelTransformer(host, "Tokens", "Embedding", "FilledText", checkpoint.PreTrainingModel, tokenizer, null);
    }

    /// <summary>The directory's tokenizer alone.</summary>
    public static TextTokenizer LoadTokenizer(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Hugging Face model directory '{directory}' does not exist.");
        return Tokenizer(HuggingFaceTokenizerFiles.Locate(directory), directory);
    }

    // vocab.txt: WordPiece, lower-cased unless tokenizer_config.json says do_lower_case false
    // (transformers' BertTokenizer default); vocab.json + merges.txt: byte-level BPE (RoBERTa).
    private static TextTokenizer Tokenizer(HuggingFaceTokenizerFiles files, string directory)
    {
        if (files.Vocabulary is { } vocab && vocab.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
        {
            var (lowerCase, stripAccents) = Casing(files.TokenizerConfig);
            return TextTokenizer.FromWordPieceVocab(vocab, lowerCase, stripAccents);
        }
        if (files.Vocabulary is { } json && files.Merges is { } merges)
            return TextTokenizer.FromBpe(json, merges);
        throw new InvalidDataException($"'{directory}' has no tokenizer this library reads: vocab.txt, or vocab.json with merges.txt.");
    }

    // do_lower_case (default true) and strip_accents (absent or null: as do_lower_case), as BertTokenizer reads them.
    private static (bool LowerCase, bool? StripAccents) Casing(string? tokenizerConfig)
    {
        if (tokenizerConfig is null) return (true, null);
        using var document = JsonDocument.Parse(File.ReadAllText(tokenizerConfig));
        var root = document.RootElement;
        var lowerCase = !root.TryGetProperty("do_lower_case", out var lower) || lower.ValueKind != JsonValueKind.False;
        bool? strip = root.TryGetProperty("strip_accents", out var s) && s.ValueKind is JsonValueKind.True or JsonValueKind.False ? s.GetBoolean() : null;
        return (lowerCase, strip);
    }
}
