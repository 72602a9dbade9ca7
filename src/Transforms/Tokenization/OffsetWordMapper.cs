namespace Pipelines;

/// <summary>
/// Gives each token of a text the index of the whitespace-separated word it starts in, from the
/// token's character offsets. Tokens arrive in text order, so one forward pass over the text serves
/// all of them. A token that covers only whitespace belongs to no word (-1).
/// </summary>
internal ref struct OffsetWordMapper(ReadOnlySpan<char> text)
{
    private readonly ReadOnlySpan<char> _text = text;
    private int _position;   // characters before this have been scanned
    private int _word = -1;  // index of the word _position is in or after

    public int WordOf(Range offsets)
    {
        var (start, length) = offsets.GetOffsetAndLength(_text.Length);
        var first = start;
        while (first < start + length && char.IsWhiteSpace(_text[first])) first++;
        if (first == start + length) return -1;
        if (first < _position) return _word; // another token of the character already scanned
        for (; _position <= first; _position++)
        {
            if (!char.IsWhiteSpace(_text[_position]) && (_position == 0 || char.IsWhiteSpace(_text[_position - 1]))) _word++;
        }
        return _word;
    }
}
