namespace Pipelines;

/// <summary>One entity: its type and the words it spans, [Start, End).</summary>
public readonly record struct Entity(string Type, int Start, int End);

/// <summary>
/// Word-level tag sequences in the BIO family. Tags are "O", or a prefix B-, I-, E- or S- and a
/// type ("B-PER"); a tag without a prefix counts as I- of that type. IOB1 (CoNLL-2003's files: I-
/// opens an entity, B- only where two entities of one type touch) and IOB2 (every entity opens with
/// B-) are told apart and converted; entities are read as conlleval and seqeval read them.
/// </summary>
public static class EntityTags
{
    /// <summary>The tag outside every entity.</summary>
    public const string Outside = "O";

    /// <summary>The prefix letter (B, I, E, S, or O) and the type ("" for O) of a tag.</summary>
    public static (char Prefix, string Type) Parse(string tag)
    {
        if (tag == Outside || tag.Length == 0) return ('O', "");
        if (tag.Length > 2 && tag[1] == '-' && tag[0] is 'B' or 'I' or 'E' or 'S') return (tag[0], tag[2..]);
        return ('I', tag);
    }

    /// <summary>
    /// The entities of a tag sequence, with conlleval's rules: an entity opens at B- or S-, at I- or
    /// E- after O or after an entity that has ended, and wherever the type changes; it closes before
    /// B-, S- and O, after E- and S-, and wherever the type changes. Both IOB1 and IOB2 read right.
    /// </summary>
    public static List<Entity> Extract(IReadOnlyList<string> tags)
    {
        var entities = new List<Entity>();
        var (previous, previousType) = ('O', "");
        var start = -1;
        for (var i = 0; i <= tags.Count; i++)
        {
            var (prefix, type) = i < tags.Count ? Parse(tags[i]) : ('O', "");
            if (start >= 0 && Ends(previous, prefix, previousType, type))
            {
                entities.Add(new Entity(previousType, start, i));
                start = -1;
            }
            if (Starts(previous, prefix, previousType, type)) start = i;
            (previous, previousType) = (prefix, type);
        }
        return entities;
    }

    private static bool Ends(char previous, char prefix, string previousType, string type) =>
        previous is 'E' or 'S'
        || (previous is 'B' or 'I' && prefix is 'B' or 'S' or 'O')
        || (previous != 'O' && previousType != type);

    private static bool Starts(char previous, char prefix, string previousType, string type) =>
        prefix is 'B' or 'S'
        || (previous is 'E' or 'S' or 'O' && prefix is 'E' or 'I')
        || (prefix != 'O' && previousType != type);

    /// <summary>True when some entity opens with I- (IOB1, or IOB2 broken); false for clean IOB2.</summary>
    public static bool OpensWithInside(IReadOnlyList<string> tags)
    {
        foreach (var entity in Extract(tags))
            if (Parse(tags[entity.Start]).Prefix == 'I') return true;
        return false;
    }

    /// <summary>IOB2 tags of the same entities: B- on each entity's first word, I- on the rest.</summary>
    public static string[] ToIob2(IReadOnlyList<string> tags)
    {
        var result = Enumerable.Repeat(Outside, tags.Count).ToArray();
        foreach (var entity in Extract(tags))
            for (var i = entity.Start; i < entity.End; i++)
                result[i] = (i == entity.Start ? "B-" : "I-") + entity.Type;
        return result;
    }

    /// <summary>IOB1 tags of the same entities: I- throughout, B- only on the first word of an entity that directly follows one of the same type.</summary>
    public static string[] ToIob1(IReadOnlyList<string> tags)
    {
        var result = Enumerable.Repeat(Outside, tags.Count).ToArray();
        Entity? last = null;
        foreach (var entity in Extract(tags))
        {
            var touching = last is { } l && l.End == entity.Start && l.Type == entity.Type;
            for (var i = entity.Start; i < entity.End; i++)
                result[i] = (i == entity.Start && touching ? "B-" : "I-") + entity.Type;
            last = entity;
        }
        return result;
    }
}
