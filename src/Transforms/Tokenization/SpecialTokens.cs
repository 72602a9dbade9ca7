namespace Pipelines;

/// <summary>
/// Which ids of a <see cref="TextTokenizer"/> play the special roles, and which of them were appended
/// after the vocabulary because it lacked them. The rules (one place, so saving need not store them):
/// <list type="bullet">
/// <item>WordPiece: [PAD], [UNK], [CLS], [SEP] must be in vocab.txt; [MASK] is used when present.</item>
/// <item>Characters: the vocabulary's unknown id; &lt;pad&gt;, &lt;bos&gt; (the [CLS] role),
/// &lt;eos&gt; (the [SEP] role) and &lt;mask&gt; appended.</item>
/// <item>BPE, tiktoken, SentencePiece (GPT-style): [CLS] is "&lt;s&gt;" or else the [SEP] token; [SEP] is
/// "&lt;/s&gt;" or "&lt;|endoftext|&gt;" (appended as "&lt;|endoftext|&gt;" if neither exists); pad, unknown
/// and mask are "&lt;pad&gt;", "&lt;unk&gt;" (or the model's own unknown), "&lt;mask&gt;" when present,
/// else appended as "&lt;|pad|&gt;", "&lt;|unk|&gt;", "&lt;|mask|&gt;".</item>
/// <item>Compact: its own unknown id; the other roles as for the vocabulary it was cut from, appended
/// when the kept ids lack them.</item>
/// </list>
/// Appended ids follow the vocabulary's last id in the order the roles are listed above, so a
/// checkpoint's embedding rows for the original vocabulary keep their meaning.
/// </summary>
internal sealed record SpecialTokens(int Pad, int Unknown, int Cls, int Sep, int? Mask, IReadOnlyList<string> Appended)
{
    public static SpecialTokens Resolve(SubwordEncoder encoder)
    {
        var appended = new List<string>();
        int Append(string name)
        {
            appended.Add(name);
            return encoder.Count + appended.Count - 1;
        }
        int Find(string name) => encoder.IdOf(name) ?? throw new InvalidDataException($"The vocabulary lacks '{name}'.");

        switch (encoder)
        {
            case WordPieceEncoder:
                return new(Find(WordPieceEncoder.Padding), Find(WordPieceEncoder.Unknown), Find(WordPieceEncoder.Classification),
                    Find(WordPieceEncoder.Separator), encoder.IdOf(WordPieceEncoder.Mask), appended);
            case CharacterEncoder chars:
            {
                var pad = Append("<pad>");
                var cls = Append("<bos>");
                var sep = Append("<eos>");
                return new(pad, chars.Vocabulary.UnknownId, cls, sep, Append("<mask>"), appended);
            }
            default:
            {
                var naturalUnknown = encoder switch
                {
                    CompactEncoder compact => (int?)compact.UnknownId,
                    SentencePieceEncoder sp => sp.ModelUnknownId,
                    BpeEncoder { UnknownToken: { } token } bpe => bpe.IdOf(token),
                    _ => encoder.IdOf("<unk>"),
                };
                var sep = encoder.IdOf("</s>") ?? encoder.IdOf("<|endoftext|>") ?? Append("<|endoftext|>");
                var cls = encoder.IdOf("<s>") ?? sep;
                var pad = encoder.IdOf("<pad>") ?? Append("<|pad|>");
                var unknown = naturalUnknown ?? Append("<|unk|>");
                var mask = encoder.IdOf("<mask>") ?? Append("<|mask|>");
                return new(pad, unknown, cls, sep, mask, appended);
            }
        }
    }

    /// <summary>Every special id: these are never masked, and <see cref="TextTokenizer.Decode"/> can skip them.</summary>
    public HashSet<int> All()
    {
        HashSet<int> all = [Pad, Unknown, Cls, Sep];
        if (Mask is { } mask) all.Add(mask);
        return all;
    }
}
