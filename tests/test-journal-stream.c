/* log_stderr_is_journal: $JOURNAL_STREAM names stderr's device and inode
 * ("DEVICE:INODE", decimal) when systemd connected it to the journal. Only
 * that exact text of stderr's own numbers counts: not another inode, not a
 * number out of range, not trailing text. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "daemon/log.h"

static bool with(const char *value)
{
        if (value)
                setenv("JOURNAL_STREAM", value, 1);
        else
                unsetenv("JOURNAL_STREAM");
        return log_stderr_is_journal();
}

int main(void)
{
        struct stat st;
        char v[96];

        CHECK_INT(fstat(STDERR_FILENO, &st), 0);
        snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
        CHECK(with(v));
        CHECK(!with(NULL));
        CHECK(!with(""));
        snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
        CHECK(!with(v));
        snprintf(v, sizeof(v), "%llu:%llux", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
        CHECK(!with(v));
        snprintf(v, sizeof(v), "%llu", (unsigned long long)st.st_dev);
        CHECK(!with(v));
        snprintf(v, sizeof(v), ":%llu", (unsigned long long)st.st_ino);
        CHECK(!with(v));
        snprintf(v, sizeof(v), "%llu:184467440737095516160", (unsigned long long)st.st_dev);
        CHECK(!with(v));
        return check_finish("journal-stream");
}
