using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipelines;

public sealed partial class TextTokenizer
{
    /// <summary>
    /// Writes this tokenizer's files into <paramref name="directory"/> as a Hugging Face model directory holds
    /// them, so that transformers' AutoTokenizer (and this library's Hugging Face import) reads the same ids:
    /// WordPiece as vocab.txt with a tokenizer_config.json (BertTokenizer, its lower-casing and accent
    /// stripping); byte-level BPE as vocab.json and merges.txt (RobertaTokenizer when the vocabulary has
    /// RoBERTa's &lt;s&gt;, &lt;/s&gt;, &lt;pad&gt;, &lt;unk&gt; and &lt;mask&gt;, else GPT2Tokenizer).
    /// Returns the paths written.
    /// </summary>
    /// <exception cref="NotSupportedException">The tokenizer has no such files: tiktoken, SentencePiece, characters,
    /// a compacted vocabulary, or a BPE vocabulary that lacked special tokens this library appended.</exception>
    public IReadOnlyList<string> SaveHuggingFaceFiles(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var files = HuggingFaceFiles();
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        foreach (var (name, bytes) in files)
        {
            var path = Path.Combine(directory, name);
            var temporary = path + ".tmp";
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
            written.Add(path);
        }
        return written;
    }

    private List<(string Name, byte[] Bytes)> HuggingFaceFiles()
    {
        switch (_encoder)
        {
            case WordPieceEncoder wordPiece:
                return
                [
                    ("vocab.txt", wordPiece.VocabFile.ToArray()),
                    ("tokenizer_config.json", Json(new JsonObject
                    {
                        ["tokenizer_class"] = "BertTokenizer",
                        ["do_lower_case"] = wordPiece.LowerCase,
                        ["strip_accents"] = wordPiece.StripAccents,
                        ["unk_token"] = WordPieceEncoder.Unknown,
                        ["sep_token"] = WordPieceEncoder.Separator,
                        ["pad_token"] = WordPieceEncoder.Padding,
                        ["cls_token"] = WordPieceEncoder.Classification,
                        ["mask_token"] = MaskId is null ? null : WordPieceEncoder.Mask,
                    })),
                ];
            case BpeEncoder { ByteLevel: true } bpe when _specials.Appended.Count == 0:
                string[] roberta = ["<s>", "</s>", "<pad>", "<unk>", "<mask>"];
                return
                [
                    ("vocab.json", bpe.Files.Vocabulary.ToArray()),
                    ("merges.txt", bpe.Files.Merges.ToArray()),
                    ("tokenizer_config.json", Json(new JsonObject
                    {
                        ["tokenizer_class"] = roberta.All(t => bpe.IdOf(t) is not null) ? "RobertaTokenizer" : "GPT2Tokenizer",
                        ["add_prefix_space"] = false,
                    })),
                ];
            case BpeEncoder { ByteLevel: true }:
                throw new NotSupportedException($"This BPE vocabulary lacks {string.Join(", ", _specials.Appended)}, which this library appended after its " +
                    "last id; vocab.json would need them under names Hugging Face gives other roles. Add them to vocab.json before training.");
            default:
                throw new NotSupportedException($"A {Kind} tokenizer has no Hugging Face files this library writes: WordPiece (vocab.txt) and byte-level BPE " +
                    "(vocab.json, merges.txt) do.");
        }
    }

    private static byte[] Json(JsonObject json) =>
        System.Text.Encoding.UTF8.GetBytes(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
}
