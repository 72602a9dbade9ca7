using System.Text;

namespace Pipelines;

/// <summary>
/// A character-level vocabulary (as in char-rnn and nanoGPT's shakespeare_char): one id per
/// distinct character (Unicode scalar) of a corpus, in ordinal order, plus an unknown id for
/// characters the corpus did not contain. Characters are Unicode scalars, so a surrogate pair is
/// one symbol and a lone surrogate is unknown.
/// </summary>
public sealed class CharacterVocabulary
{
    private readonly Dictionary<int, int> _ids;
    private readonly int[] _symbols;

    private CharacterVocabulary(IEnumerable<int> symbols)
    {
        _symbols = symbols.Where(s => s >= 0).Distinct().Order().ToArray();
        _ids = _symbols.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i);
    }

    /// <summary>Number of ids, the unknown id included.</summary>
    public int Count => _symbols.Length + 1;

    /// <summary>The id of characters outside the vocabulary (the last id).</summary>
    public int UnknownId => _symbols.Length;

    /// <summary>Builds the vocabulary of every character in <paramref name="texts"/>.</summary>
    public static CharacterVocabulary Build(IEnumerable<string?> texts) =>
        new(texts.SelectMany(t => Scalars(t ?? "")));

    /// <summary>Restores a vocabulary from <see cref="Symbols"/>.</summary>
    /// <exception cref="InvalidDataException">A symbol is not one character, or the symbols are not in the strictly increasing order <see cref="Symbols"/> gives (a damaged vocabulary, whose ids would shift).</exception>
    public static CharacterVocabulary FromSymbols(IEnumerable<string> symbols)
    {
        var scalars = new List<int>();
        foreach (var symbol in symbols)
        {
            var characters = Scalars(symbol).Take(2).ToList();
            if (characters is not [var c] || c < 0)
                throw new InvalidDataException($"Vocabulary symbol '{symbol}' is not one Unicode character.");
            if (scalars.Count > 0 && c <= scalars[^1])
                throw new InvalidDataException($"Vocabulary symbol '{symbol}' (id {scalars.Count}) is out of order or repeated: the saved ids would not be reproduced.");
            scalars.Add(c);
        }
        return new(scalars);
    }

    /// <summary>The characters in id order, for saving.</summary>
    public IReadOnlyList<string> Symbols => _symbols.Select(char.ConvertFromUtf32).ToArray();

    /// <summary>Ids of the characters of <paramref name="text"/>; unknown characters map to <see cref="UnknownId"/>.</summary>
    public int[] Encode(string? text) =>
        Scalars(text ?? "").Select(s => _ids.TryGetValue(s, out var id) ? id : UnknownId).ToArray();

    /// <summary>The text of <paramref name="ids"/>; the unknown id becomes U+FFFD.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var builder = new StringBuilder();
        foreach (var id in ids)
        {
            if (id < 0 || id > UnknownId) throw new ArgumentOutOfRangeException(nameof(ids), $"Id {id} is outside the vocabulary of {Count} ids.");
            builder.Append(id == UnknownId ? "\uFFFD" : char.ConvertFromUtf32(_symbols[id]));
        }
        return builder.ToString();
    }

    // Unicode scalars of a string; a lone surrogate becomes -1 (never a vocabulary symbol).
    private static IEnumerable<int> Scalars(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                yield return char.ConvertToUtf32(text[i], text[i + 1]);
                i++;
            }
            else
            {
                yield return char.IsSurrogate(text[i]) ? -1 : text[i];
            }
        }
    }
}
