namespace LowLatency.Perf.Harness;

/// <summary>
/// The "what is running now" line. On a terminal it is rewritten in place with '\r'; when stdout is redirected (CI, a
/// log file) each update is a plain line, so the log reads top to bottom.
/// </summary>
internal sealed class ProgressLine(TextWriter writer, bool interactive)
{
    private int _length;

    /// <summary>Whether updates overwrite each other.</summary>
    public bool IsInteractive => interactive;

    /// <summary>Shows <paramref name="text"/> as the current progress.</summary>
    public void Update(string text)
    {
        if (!interactive)
        {
            writer.WriteLine(text);
            return;
        }

        // Pad over the previous, possibly longer, text.
        writer.Write('\r');
        writer.Write(text.PadRight(_length));
        writer.Flush();
        _length = text.Length;
    }

    /// <summary>Shows a transient update on a terminal only (skipped in logs, where it would only add noise).</summary>
    public void UpdateTransient(string text)
    {
        if (interactive)
        {
            Update(text);
        }
    }

    /// <summary>Prints <paramref name="text"/> as a permanent line, replacing the progress line on a terminal.</summary>
    public void WriteLine(string text)
    {
        if (interactive && _length > 0)
        {
            writer.Write('\r');
            writer.Write(text.PadRight(_length));
            writer.WriteLine();
            _length = 0;
        }
        else
        {
            writer.WriteLine(text);
        }
    }

    /// <summary>Erases the progress line on a terminal.</summary>
    public void Clear()
    {
        if (interactive && _length > 0)
        {
            writer.Write('\r');
            writer.Write(new string(' ', _length));
            writer.Write('\r');
            writer.Flush();
            _length = 0;
        }
    }
}
