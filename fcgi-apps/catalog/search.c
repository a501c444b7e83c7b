/* The full-text search expression. MariaDB's BOOLEAN MODE gives AND
 * semantics ("oak desk lamp" finds products with all three words), which is
 * what a search sorted by price or newest needs; NATURAL LANGUAGE MODE would
 * OR the words and rank by relevance, a ranking the lists do not use. The
 * user's text only ever contributes words made of letters, digits and '_'
 * (what InnoDB's parser itself treats as word characters), so none of the
 * operators + - < > ( ) ~ * " @ can come from it. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "fcgi-apps/catalog/catalog.h"
#include "lib/err.h"

/* INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD of MariaDB 10.11: InnoDB
 * does not index these, so a required stopword would match nothing. */
static const char *const stopwords[] = {
	"a", "about", "an", "are", "as", "at", "be", "by", "com", "de", "en",
	"for", "from", "how", "i", "in", "is", "it", "la", "of", "on", "or",
	"that", "the", "this", "to", "was", "what", "when", "where", "who",
	"will", "with", "und", "www",
};

static bool is_stopword(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(stopwords) / sizeof(stopwords[0]); i++) {
		if (strlen(stopwords[i]) == n && strncasecmp(stopwords[i], w, n) == 0)
			return true;
	}
	return false;
}

/* Decodes one UTF-8 code point at s[0..n); returns its byte length (>= 1)
 * and the code point in *cp, or length 1 and cp 0xFFFD for a bad byte. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	if (len > n) {
		*cp = 0xFFFD;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	/* Overlong forms, surrogates and code points beyond U+10FFFF are bad
	 * bytes too: none of them may reach the expression. */
	if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
	    (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) {
		*cp = 0xFFFD;
		return 1;
	}
	*cp = v;
	return len;
}

/* Letters, digits and '_' in ASCII; beyond ASCII everything except the
 * punctuation and symbol blocks (Latin-1 punctuation, General Punctuation up
 * to Dingbats and arrows, CJK punctuation, full-width ASCII punctuation,
 * emoji), which InnoDB's parser treats as separators too. */
static bool is_word_cp(uint32_t c)
{
	if (c < 0x80)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '_';
	if (c <= 0xBF)
		return c == 0xAA || c == 0xB5 || c == 0xBA;
	if (c == 0xD7 || c == 0xF7 || c == 0xFFFD)
		return false;
	if (c >= 0x2000 && c <= 0x2BFF)
		return false;
	if (c >= 0x3000 && c <= 0x303F)
		return false;
	if ((c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF0F) ||
	    (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
	    (c >= 0xFF5B && c <= 0xFF65))
		return false;
	if (c >= 0x1F000 && c <= 0x1FAFF)
		return false;
	return true;
}

int catalog_search_expr(char *out, size_t outsz, const char *q, size_t n)
{
	const unsigned char *s = (const unsigned char *)q;
	size_t i = 0, used = 0;
	int words = 0;

	if (outsz == 0)
		return SHOP_ETOOBIG;
	out[0] = '\0';
	while (i < n) {
		uint32_t cp;
		size_t start, end, chars = 0;

		/* Skip separators. */
		for (;;) {
			size_t l;

			if (i >= n)
				break;
			l = utf8_next(s + i, n - i, &cp);
			if (is_word_cp(cp))
				break;
			i += l;
		}
		if (i >= n)
			break;
		start = i;
		while (i < n) {
			size_t l = utf8_next(s + i, n - i, &cp);

			if (!is_word_cp(cp))
				break;
			i += l;
			chars++;
		}
		end = i;
		if (chars < CATALOG_FT_MIN_WORD || chars > CATALOG_FT_MAX_WORD ||
		    is_stopword(q + start, end - start))
			continue;
		/* "+word*", with a blank before every term but the first. */
		if (used + (words ? 1 : 0) + 1 + (end - start) + 1 + 1 > outsz)
			return SHOP_ETOOBIG;
		if (words)
			out[used++] = ' ';
		out[used++] = '+';
		memcpy(out + used, q + start, end - start);
		used += end - start;
		out[used++] = '*';
		out[used] = '\0';
		words++;
	}
	return words;
}
