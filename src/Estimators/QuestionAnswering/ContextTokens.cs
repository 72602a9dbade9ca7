namespace Pipelines;

/// <summary>
/// A context's tokens with the characters each came from, so that an answer's character span can
/// be found among the tokens and a predicted token span cut out of the original text. The text is
/// split into pieces (a run of letters and digits, or one other non-space character) before
/// tokenizing, so that an answer ending at "1990" in "1990." ends on a token boundary.
/// </summary>
public sealed class ContextTokens
{
    private readonly (int Start, int End)[] _pieces;
    private readonly int[] _pieceOf;

    private ContextTokens(string text, int[] ids, int[] pieceOf, (int, int)[] pieces) => (Text, Ids, _pieceOf, _pieces) = (text, ids, pieceOf, pieces);

    /// <summary>The context as given.</summary>
    public string Text { get; }
    /// <summary>Token ids, without special tokens.</summary>
    public int[] Ids { get; }

    /// <summary>Tokenizes <paramref name="text"/> piece by piece with <paramref name="tokenizer"/>.</summary>
    public static ContextTokens Encode(TextTokenizer tokenizer, string text)
    {
        var pieces = Pieces(text);
        var joined = string.Join(' ', pieces.Select(p => text[p.Start..p.End]));
        var encoded = tokenizer.Encode(joined, maxLength: int.MaxValue, addSpecialTokens: false);
        var kept = Enumerable.Range(0, encoded.Ids.Length).Where(i => encoded.WordIds[i] >= 0).ToArray();
        return new ContextTokens(text, kept.Select(i => encoded.Ids[i]).ToArray(), kept.Select(i => encoded.WordIds[i]).ToArray(), pieces);
    }

    /// <summary>First and last token of the characters [<paramref name="start"/>, <paramref name="end"/>), or null when no token lies there.</summary>
    public (int First, int Last)? TokenSpan(int start, int end)
    {
        int first = -1, last = -1;
        for (var t = 0; t < Ids.Length; t++)
        {
            var (s, e) = _pieces[_pieceOf[t]];
            if (e <= start || s >= end) continue;
            if (first < 0) first = t;
            last = t;
        }
        return first < 0 ? null : (first, last);
    }

    /// <summary>The characters from token <paramref name="first"/>'s piece to token <paramref name="last"/>'s: start and length.</summary>
    public (int Start, int Length) CharSpan(int first, int last)
    {
        var start = _pieces[_pieceOf[first]].Start;
        return (start, _pieces[_pieceOf[last]].End - start);
    }

    private static (int Start, int End)[] Pieces(string text)
    {
        var pieces = new List<(int, int)>();
        for (var i = 0; i < text.Length;)
        {
            if (char.IsWhiteSpace(text[i])) { i++; continue; }
            var start = i;
            if (char.IsLetterOrDigit(text[i]))
                while (i < text.Length && char.IsLetterOrDigit(text[i])) i++;
            else
                i += char.IsSurrogatePair(text, i) ? 2 : 1;
            pieces.Add((start, i));
        }
        return [.. pieces];
    }
}

/// <summary>
/// One window of a question with part of its context: <c>[CLS] question [SEP] context tokens
/// [SEP]</c> and segment ids; <see cref="ContextStart"/> is the context token it begins with and
/// <see cref="Offset"/> where that token sits in <see cref="Ids"/>.
/// </summary>
public sealed record QuestionWindow(int[] Ids, int[] Segments, int ContextStart, int ContextLength, int Offset)
{
    /// <summary>Most question tokens kept (BERT's SQuAD script keeps 64), at most half the window.</summary>
    public const int MaxQuestionTokens = 64;

    /// <summary>
    /// Windows over <paramref name="context"/> of at most <paramref name="maxLength"/> tokens each,
    /// consecutive windows sharing <paramref name="overlap"/> context tokens (BERT's doc stride), so
    /// that an answer cut by one window lies whole in the next.
    /// </summary>
    public static List<QuestionWindow> Make(int[] question, ContextTokens context, TextTokenizer tokenizer, int maxLength, int overlap)
    {
        var q = question.Take(Math.Min(MaxQuestionTokens, maxLength / 2)).ToArray();
        var room = maxLength - q.Length - 3;
        var step = Math.Max(1, room - Math.Min(overlap, room - 1));
        var windows = new List<QuestionWindow>();
        for (var start = 0; ; start += step)
        {
            var length = Math.Min(room, context.Ids.Length - start);
            int[] ids = [tokenizer.ClsId, .. q, tokenizer.SepId, .. context.Ids.AsSpan(start, Math.Max(0, length)), tokenizer.SepId];
            var segments = Enumerable.Range(0, ids.Length).Select(i => i < q.Length + 2 ? 0 : 1).ToArray();
            windows.Add(new QuestionWindow(ids, segments, start, Math.Max(0, length), q.Length + 2));
            if (start + room >= context.Ids.Length) return windows;
        }
    }
}
