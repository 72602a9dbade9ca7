namespace Pipelines;

/// <summary>
/// The characters .NET's Unicode normalization (<see cref="string.Normalize()"/>) throws on: a lone
/// surrogate, and U+FFFE (a byte-swapped byte-order mark). Text with them must not reach a
/// normalizer, or one odd mail fails a whole pass.
/// </summary>
internal static class UnicodeScrub
{
    public static bool NormalizationRejects(ReadOnlySpan<char> text)
    {
        if (text.Contains('\uFFFE')) return true;
        var i = text.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (i < 0) return false;
        for (; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else return true;
        }
        return false;
    }

    /// <summary><paramref name="text"/> with each rejected character replaced by a space (a word boundary).</summary>
    public static string Scrubbed(string text)
    {
        if (!NormalizationRejects(text)) return text;
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) { i++; continue; }
            if (char.IsSurrogate(chars[i]) || chars[i] == '\uFFFE') chars[i] = ' ';
        }
        return new string(chars);
    }
}
