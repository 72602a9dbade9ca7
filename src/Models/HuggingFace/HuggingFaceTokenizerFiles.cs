namespace Pipelines.Models.HuggingFace;

/// <summary>
/// The tokenizer files of a Hugging Face model directory, as paths (null where absent). This library
/// only finds and copies them; the text transforms read them. BERT uses <c>vocab.txt</c> (WordPiece);
/// RoBERTa and GPT-2 use <c>vocab.json</c> + <c>merges.txt</c> (byte-level BPE); any of them may also
/// have <c>tokenizer.json</c> (the tokenizers library's single file) and <c>tokenizer_config.json</c> /
/// <c>special_tokens_map.json</c>.
/// </summary>
/// <param name="Vocabulary">vocab.txt or vocab.json.</param>
/// <param name="Merges">merges.txt (byte-level BPE).</param>
/// <param name="TokenizerJson">tokenizer.json.</param>
/// <param name="TokenizerConfig">tokenizer_config.json.</param>
/// <param name="SpecialTokensMap">special_tokens_map.json.</param>
public sealed record HuggingFaceTokenizerFiles(
    string? Vocabulary = null, string? Merges = null, string? TokenizerJson = null,
    string? TokenizerConfig = null, string? SpecialTokensMap = null)
{
    /// <summary>True when no tokenizer file was found or given.</summary>
    public bool IsEmpty => !Files.Any();

    /// <summary>Each present file with the name Hugging Face gives it in a model directory.</summary>
    public IEnumerable<(string Path, string StandardName)> Files
    {
        get
        {
            if (Vocabulary is not null)
                yield return (Vocabulary, Path.GetExtension(Vocabulary).Equals(".json", StringComparison.OrdinalIgnoreCase) ? "vocab.json" : "vocab.txt");
            if (Merges is not null) yield return (Merges, "merges.txt");
            if (TokenizerJson is not null) yield return (TokenizerJson, "tokenizer.json");
            if (TokenizerConfig is not null) yield return (TokenizerConfig, "tokenizer_config.json");
            if (SpecialTokensMap is not null) yield return (SpecialTokensMap, "special_tokens_map.json");
        }
    }

    /// <summary>Finds the tokenizer files in <paramref name="directory"/> (vocab.txt is preferred over vocab.json when both exist).</summary>
    public static HuggingFaceTokenizerFiles Locate(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string? Find(string name) => File.Exists(Path.Combine(directory, name)) ? Path.Combine(directory, name) : null;
        return new HuggingFaceTokenizerFiles(
            Find("vocab.txt") ?? Find("vocab.json"), Find("merges.txt"), Find("tokenizer.json"),
            Find("tokenizer_config.json"), Find("special_tokens_map.json"));
    }
}
